"""What a document is: its title, organisation, form and period, read from the document itself.

Reports say on their first page who wrote them, what they are and which period they cover
("FORM 10-Q", "For the quarterly period ended July 1, 2023", "Apple Inc. (Exact name of
registrant …)"), and office file names often carry the rest ("2019 Annual Report ACME.pdf",
"acme_2019_10K.pdf"). A passage cut out of page 37 knows none of this; the profile is what
retrieval adds back: it goes into each passage's context header and into the document index
that routes a question naming a company, a year or a form to the right document.

Everything here is a heuristic over text: any field may be empty, and nothing fails.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date

from ..types import ParsedDocument

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
# "July 1, 2023", "July 1 2023", "1 July 2023".
_DATE = re.compile(
    rf"(?P<m1>{_MONTH})\s+(?P<d1>\d{{1,2}}),?\s+(?P<y1>(?:19|20)\d\d)"
    rf"|(?P<d2>\d{{1,2}})\s+(?P<m2>{_MONTH}),?\s+(?P<y2>(?:19|20)\d\d)",
    re.IGNORECASE,
)
# "For the quarterly period ended July 1, 2023", "for the fiscal year ended December 31, 2019".
_PERIOD = re.compile(
    r"for\s+the\s+(?P<kind>fiscal\s+year|year|quarterly\s+period|quarter|period|"
    r"(?:three|six|nine|twelve)\s+months|half[-\s]year|first\s+half)\s+ended\s+",
    re.IGNORECASE,
)
_EVENT_DATE = re.compile(
    r"date\s+of\s+report\s*(?:\(date\s+of\s+earliest\s+event\s+reported\))?\s*:?\s*",
    re.IGNORECASE,
)
_SEC_FORM = re.compile(
    r"\bform\s+(10-k405|10-kt|10-qt|10-k|10-q|8-k|20-f|40-f|6-k|11-k|s-1|s-4|def\s*14a)\b",
    re.IGNORECASE,
)
_FORM_IN_NAME = re.compile(
    r"(?<![a-z0-9])(10|20|40|8|6|11)[-_ ]?(k|q|f)(?![a-z0-9])", re.IGNORECASE
)
_REPORT_KIND = re.compile(
    r"\b(annual report|quarterly report|interim report|half[- ]year(?:ly)? report|"
    r"sustainability report|proxy statement|annual review)\b",
    re.IGNORECASE,
)
# The line that names the registrant on a US filing's cover page.
_REGISTRANT = re.compile(
    r"(?P<name>[^\n]{2,100})\n[ \t]*\(?\s*exact\s+name\s+of\s+(?:the\s+)?registrant",
    re.IGNORECASE,
)
_ORG_SUFFIX = re.compile(
    r"^[A-Z0-9][\w&.,'’\- ]{0,80}?\b(?:inc|incorporated|corporation|corp|company|co|ltd|"
    r"limited|plc|llc|l\.p|lp|ag|se|sa|s\.a|n\.v|nv|gmbh|group|holdings|bancorp|trust)\.?"
    r"(?:\s+and\s+subsidiaries)?$",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_FY = re.compile(r"\bfy\s?'?(\d{2}|(?:19|20)\d\d)\b", re.IGNORECASE)
# "2023 Q3", "2023Q3", "Q3 2023", "Q3-2023", "Q3 FY2023", "3Q23", "3Q 2023".
_QUARTER = re.compile(
    r"(?<![a-z0-9])(?:(?P<y1>(?:19|20)\d\d)[\s_-]*q(?P<q1>[1-4])"
    r"|q(?P<q2>[1-4])[\s_-]*(?:fy)?[\s_-]*'?(?P<y2>(?:19|20)\d\d|\d\d)"
    r"|(?P<q3>[1-4])q[\s_-]*'?(?P<y3>(?:19|20)\d\d|\d\d))(?![a-z0-9])",
    re.IGNORECASE,
)
# "Q2 of FY2023", "Q2 fiscal 2023", "Q2 of fiscal year 2023", "Q2 of 2023".
_QUARTER_OF = re.compile(
    r"(?<![a-z0-9])q(?P<q>[1-4])\s+(?:of\s+)?(?:(?:fiscal\s+(?:year\s+)?|fy\s?)'?"
    r"(?P<y1>(?:19|20)\d\d|\d\d)|(?<=of )(?P<y2>(?:19|20)\d\d))(?![a-z0-9])",
    re.IGNORECASE,
)
_ORDINAL_QUARTER = re.compile(
    r"\b(?P<n>first|second|third|fourth|1st|2nd|3rd|4th)\s+(?:fiscal\s+)?quarter"
    r"(?:\s+of)?(?:\s+(?:fiscal\s+(?:year\s+)?|fy\s?))?\s*'?(?P<y>(?:19|20)\d\d)?",
    re.IGNORECASE,
)
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
}
# Placeholders and identifiers that producers write where a title should be.
_NO_TITLE = re.compile(
    r"^(?:untitled.*|title|document\d*|microsoft word.*|slide \d+|[\W\d_]+|[a-z]?\d[\d\-_. ]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DocumentProfile:
    """Who wrote a document, what it is and which period it covers (any field may be '')."""

    title: str = ""
    organisation: str = ""
    form: str = ""  # "10-K", "10-Q", "8-K", "annual report", …
    period: str = ""  # as the document says it: "quarterly period ended July 1, 2023"
    period_end: str = ""  # ISO date of the period's end (or the event date of an 8-K)
    file_label: str = ""  # the file name made readable: "2023 Q3 AAPL"
    years: tuple[int, ...] = ()  # the years the document is about
    quarters: tuple[tuple[int, int], ...] = field(default_factory=tuple)  # (year, quarter)

    def label(self) -> str:
        """One line naming the document: "Apple Inc. 10-Q, quarterly period ended … (2023 Q3
        AAPL)". Empty parts are left out; the file's own name is always there."""
        parts: list[str] = []
        # A filing's own description ("Form 10-Q for Acme Corp filed 10/24/2023") says less
        # than its organisation and form.
        head = "" if self.organisation and self.form else self.title
        if self.organisation and _squash(self.organisation) not in _squash(head):
            head = f"{self.organisation} {head}".strip() if head else self.organisation
        if self.form and _squash(self.form) not in _squash(head):
            head = f"{head} {self.form}".strip()
        if head:
            parts.append(head)
        if self.period and _squash(self.period) not in _squash(head):
            parts.append(self.period)
        text = ", ".join(parts)
        if self.file_label and _squash(self.file_label) not in _squash(text):
            text = f"{text} ({self.file_label})" if text else self.file_label
        return text[:240]

    @property
    def informative(self) -> bool:
        """Does the label say more than an opaque file name ("paper 1564", "scan 0003")?"""
        if self.title or self.organisation or self.form or self.period or self.years:
            return True
        words = self.file_label.split()
        return bool(words) and not any(w.isdigit() for w in words)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @staticmethod
    def from_json(text: str) -> DocumentProfile:
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return DocumentProfile()
        if not isinstance(data, dict):
            return DocumentProfile()
        try:
            return DocumentProfile(
                title=str(data.get("title", "")),
                organisation=str(data.get("organisation", "")),
                form=str(data.get("form", "")),
                period=str(data.get("period", "")),
                period_end=str(data.get("period_end", "")),
                file_label=str(data.get("file_label", "")),
                years=tuple(int(y) for y in data.get("years", ())),
                quarters=tuple((int(y), int(q)) for y, q in data.get("quarters", ())),
            )
        except (TypeError, ValueError):
            return DocumentProfile()


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def readable_file_name(name: str) -> str:
    """ "acme_2019_10K.pdf" -> "acme 2019 10-K"; "AnnualReport2019.docx" -> "Annual Report 2019"."""
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." in stem[1:]:
        stem = stem.rsplit(".", 1)[0]
    stem = stem.replace("_", " ")
    stem = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem)  # camelCase
    # A word glued to a year: "Report2019" -> "Report 2019" (identifiers such as "NCT0614"
    # stay whole).
    stem = re.sub(r"(?<=[A-Za-z]{3})(?=(?:19|20)\d\d(?!\d))", " ", stem)
    stem = re.sub(r"(?<![\d])((?:19|20)\d\d)(?=[A-Za-z]{3})", r"\1 ", stem)
    stem = re.sub(r"(?<!\d)-|-(?!\d)", " ", stem)  # dashes, except inside dates and numbers
    stem = _FORM_IN_NAME.sub(lambda m: f"{m.group(1)}-{m.group(2).upper()}", stem)
    return " ".join(stem.split())[:120]


def _parse_date(m: re.Match[str]) -> date | None:
    month = (m.group("m1") or m.group("m2") or "").lower().rstrip(".")
    day = m.group("d1") or m.group("d2")
    year = m.group("y1") or m.group("y2")
    try:
        return date(int(year), _MONTHS[month], int(day))
    except (KeyError, TypeError, ValueError):
        return None


def _written(d: date) -> str:
    return f"{d:%B} {d.day}, {d.year}"


def _two_digit_year(y: str) -> int:
    n = int(y)
    return n if n >= 100 else 2000 + n if n < 70 else 1900 + n


def quarters_in(text: str) -> list[tuple[int, int]]:
    """(year, quarter) pairs written in a text: "2023 Q3", "Q3 2023", "3Q23", "Q3 of FY2023",
    "third quarter of 2023" (the last two only with their year)."""
    out: list[tuple[int, int]] = []
    for m in _QUARTER.finditer(text):
        if m.group("y1"):
            out.append((int(m.group("y1")), int(m.group("q1"))))
        elif m.group("y2"):
            out.append((_two_digit_year(m.group("y2")), int(m.group("q2"))))
        else:
            out.append((_two_digit_year(m.group("y3")), int(m.group("q3"))))
    for m in _QUARTER_OF.finditer(text):
        out.append((_two_digit_year(m.group("y1") or m.group("y2")), int(m.group("q"))))
    for m in _ORDINAL_QUARTER.finditer(text):
        if m.group("y"):
            out.append((int(m.group("y")), _ORDINALS[m.group("n").lower()]))
    return list(dict.fromkeys(out))


def years_in(text: str) -> list[int]:
    """Years a text names: "2019", "FY2019", "FY19", "fiscal 2019"."""
    years = [int(y) for y in _YEAR.findall(text)]
    years += [_two_digit_year(y) for y in _FY.findall(text)]
    return years


def _organisation(first: str) -> str:
    m = _REGISTRANT.search(first)
    if m:
        name = " ".join(m.group("name").replace("_", " ").split()).strip(" ,;:")
        if re.search(r"[A-Za-z]{2}", name) and len(name) <= 100:
            return name
    for line in first.splitlines()[:60]:
        line = " ".join(line.split())
        if 3 <= len(line) <= 90 and _ORG_SUFFIX.match(line) and not line.endswith(","):
            return re.sub(r"\s+and\s+subsidiaries$", "", line, flags=re.IGNORECASE)
    return ""


def _form(first: str, file_label: str) -> str:
    m = _SEC_FORM.search(first[:3000])
    if m:
        return m.group(1).upper().replace(" ", "")
    m = _FORM_IN_NAME.search(file_label)
    if m:
        return f"{m.group(1)}-{m.group(2).upper()}"
    m = _REPORT_KIND.search(first[:1500]) or _REPORT_KIND.search(file_label)
    return m.group(1).lower() if m else ""


def _period(first: str) -> tuple[str, date | None]:
    for m in _PERIOD.finditer(first[:6000]):
        d = _DATE.match(first, m.end())
        when = _parse_date(d) if d else None
        if when is not None:
            kind = " ".join(m.group("kind").lower().split())
            return f"{kind} ended {_written(when)}", when
    event = _EVENT_DATE.search(first[:6000])
    if event:
        d = _DATE.search(first, event.end(), event.end() + 80)
        when = _parse_date(d) if d else None
        if when is not None:
            return f"report dated {_written(when)}", when
    return "", None


def _running_quarter(doc: ParsedDocument) -> list[tuple[int, int]]:
    """The fiscal quarter a report's running header or footer names on most pages
    ("Apple Inc. | Q3 2023 Form 10-Q | 12")."""
    pages = [s.text for s in doc.sections if s.text.strip()]
    if len(pages) < 4:
        return []
    counts: Counter[tuple[int, int]] = Counter()
    for text in pages:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        edge = " \n ".join(lines[:2] + lines[-2:])
        counts.update(set(quarters_in(edge)))
    return [yq for yq, n in counts.most_common(2) if n >= max(2, len(pages) * 0.3)]


def _title(doc: ParsedDocument, first: str) -> str:
    title = " ".join(doc.title.split())
    if title and not _NO_TITLE.match(title) and len(re.findall(r"[A-Za-z]", title)) >= 3:
        return title[:160]
    return ""


def profile_document(file_name: str, doc: ParsedDocument) -> DocumentProfile:
    """The profile of a parsed document named ``file_name``."""
    sections = [s for s in doc.sections if s.text.strip()]
    first = "\n".join(s.text for s in sections[:2])[:12000]
    file_label = readable_file_name(file_name)
    organisation = _organisation(first)
    form = _form(first, file_label)
    period, end = _period(first)
    years: list[int] = years_in(file_label)
    quarters: list[tuple[int, int]] = quarters_in(file_label)
    if end is not None:
        years.append(end.year)
    running = _running_quarter(doc)
    quarters += running
    years += [y for y, _q in quarters]
    # A file named for a fiscal year ("FY2019") or a period: the years it is about, in order
    # of first mention, each once.
    seen: list[int] = []
    for y in years:
        if 1900 <= y <= 2100 and y not in seen:
            seen.append(y)
    qseen: list[tuple[int, int]] = []
    for yq in quarters:
        if yq not in qseen:
            qseen.append(yq)
    return DocumentProfile(
        title=_title(doc, first),
        organisation=organisation,
        form=form,
        period=period,
        period_end=end.isoformat() if end else "",
        file_label=file_label,
        years=tuple(seen),
        quarters=tuple(qseen),
    )


def document_label(path: str, profile_json: str) -> str:
    """The text that stands for a whole document in the document index (embedded for routing):
    its profile's label, else a readable form of its file name."""
    return DocumentProfile.from_json(profile_json).label() or readable_file_name(path)

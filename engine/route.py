"""Document routing: which documents does a question point at?

"What was Acme's capital expenditure in fiscal 2019?" names an organisation and a year; a
passage of the cash-flow statement names neither. Before passages are ranked, the question is
matched against each document's profile (title, organisation, form, period, file name; see
``ingest/profile.py``): names it shares with a document (weighted by how rare they are among
the collection's documents), years and quarters, form types ("10-K", "annual report"), "latest"
/ "most recent", and the similarity of the question to the document's label. The result is a
*prior* per document in [0, 1] that the retriever adds to passage scores: a soft preference,
never a filter, so a question that names nothing, or names it wrongly, still finds its passage.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from .ingest.profile import DocumentProfile, quarters_in, readable_file_name, years_in

# Words that say nothing about *which* document: question words, corporate suffixes, form
# and period words (those are matched on their own, below).
_NOT_NAMES = frozenset(
    """a an and are as at be by can did do does for from had has have how i if in into is it
    its of on or our the their this to was were what when where which who why will with would
    you your me my we us all any about much many per than that these those there then also
    inc incorporated corporation corp company co ltd limited plc llc lp ag se sa nv gmbh group
    holdings subsidiaries consolidated form report reports annual quarterly interim quarter
    quarters year years fiscal fy period ended ending month months q1 q2 q3 q4 h1 h2 10 k q 8 f
    document documents file page pages total net latest recent most last new filing filed
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
_WORD = re.compile(r"[^\W_]+(?:['’][a-z])?", re.UNICODE)
_FORMS = (
    (re.compile(r"\b10-?k\b|\bannual\s+(?:report|filing)\b|\bform\s+10k\b", re.I), "10-K"),
    (re.compile(r"\b10-?q\b|\bquarterly\s+(?:report|filing)\b", re.I), "10-Q"),
    (re.compile(r"\b8-?k\b|\bcurrent\s+report\b", re.I), "8-K"),
    (re.compile(r"\b20-?f\b", re.I), "20-F"),
)
# A whole fiscal year named ("FY2023", "fiscal 2023", "fiscal year 2023", "full-year"): with no
# quarter and no form named, the annual report is the likelier source than a quarter's.
_FULL_YEAR = re.compile(
    r"\bfy\s?'?(?:19|20)?\d\d\b|\bfiscal\s+(?:year\s+)?'?(?:19|20)\d\d\b|\bfull[-\s]year\b",
    re.I,
)
_LATEST = re.compile(
    r"\b(?:latest|most\s+recent|newest|current|last\s+(?:quarter|report|filing|10-?[kq]))\b",
    re.I,
)
# The parts of a document's prior: a shared rare name counts most, then the period; the form,
# "latest" and the label's similarity break ties. Fitted by hand on half of the 10-Q dev
# questions (the other half and other question sets report it; see the README).
W_NAME = 1.0
W_PERIOD = 0.8
W_FORM = 0.25
W_LATEST = 0.5
W_SIMILAR = 0.3


_PERIODISH = re.compile(
    r"^(?:(?:fy|q[1-4]|h[12]|[1-4]q)'?\d{2,4}|\d{4}(?:q[1-4]|h[12])|\d+(?:st|nd|rd|th)?"
    r"|(?:10|20|40|8|6|11)[kqf])$"
)


# Names written with "&", "-" or "." inside them: "AT&T", "Coca-Cola", "Johnson & Johnson",
# "Amazon.com"; each is also taken written together ("att", "cocacola"), as file names have it.
_COMPOUND = re.compile(r"[^\W_]+(?:\s?&\s?[^\W_]+|[-.][^\W_]+)+", re.UNICODE)


def _compounds(text: str, names_only: bool) -> set[str]:
    out = set()
    for m in _COMPOUND.finditer(text):
        if names_only and not _is_name(m.group(0)):
            continue
        key = re.sub(r"[\W_]+", "", m.group(0).casefold())
        if len(key) >= 3 and any(c.isalpha() for c in key) and not _skip(key):
            out.add(key)
    return out


def _skip(word: str) -> bool:
    """Not a name: a stop or period word, a number, a year, "FY2019", "2023Q3"."""
    return word in _NOT_NAMES or bool(_PERIODISH.match(word))


def _words(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(text.casefold()):
        w = re.sub(r"['’]s$", "", w)
        if w:
            out.append(w)
    return out


def _name_keys(text: str) -> set[str]:
    """Name-like keys of a text: its words (stop words and period words left out) and each
    run of two or three consecutive words written together ("American Express" ->
    "americanexpress"), so that "AMERICANEXPRESS_2022_10K.pdf" and "American Express" meet."""
    words = _words(text)
    keys = {w for w in words if not _skip(w) and len(w) >= 2} | _compounds(text, False)
    for n in (2, 3):
        for i in range(len(words) - n + 1):
            run = words[i : i + n]
            if not any(_skip(w) for w in run):
                keys.add("".join(run))
    return keys


def _forms(text: str) -> set[str]:
    return {name for pattern, name in _FORMS if pattern.search(text)}


@dataclass(frozen=True)
class QueryFacts:
    """What a question says about the document it wants."""

    keys: frozenset[str]
    years: tuple[int, ...]
    quarters: tuple[tuple[int, int], ...]
    forms: frozenset[str]
    latest: bool

    @property
    def names_anything(self) -> bool:
        return bool(self.keys or self.years or self.quarters or self.forms or self.latest)


_TOKEN = re.compile(r"[^\W_]+(?:['’][A-Za-z])?|[^\w\s]", re.UNICODE)


def _is_name(token: str) -> bool:
    """A word written as a name: Capitalised, ALL CAPS, or letters with digits ("3M")."""
    return token[:1].isupper() or (
        any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
    )


def question_names(question: str) -> set[str]:
    """Name keys of a question: only words it writes as names ("Apple", "NVIDIA", "3M", "Best
    Buy" -> also "bestbuy"), so that "wealth" in a question does not route to a document
    titled "Wealth"; runs of two or three such words are also taken written together, and
    so are names written with "&", "-" or "." ("AT&T" -> "att")."""
    runs: list[list[str]] = [[]]
    for token in _TOKEN.findall(question):
        if token[:1].isalnum() and _is_name(token):
            word = re.sub(r"['’]s$", "", token.casefold())
            if not _skip(word):
                runs[-1].append(word)
                continue
        if runs[-1]:
            runs.append([])
    keys = _compounds(question, True)
    for run in runs:
        keys.update(w for w in run if len(w) >= 2)
        for n in (2, 3):
            for i in range(len(run) - n + 1):
                keys.add("".join(run[i : i + n]))
    return keys


def query_facts(question: str) -> QueryFacts:
    quarters = tuple(dict.fromkeys(quarters_in(question)))
    years = tuple(dict.fromkeys(y for y in years_in(question) if 1900 <= y <= 2100))
    forms = _forms(question)
    if not forms and not quarters and _FULL_YEAR.search(question):
        forms = {"10-K"}
    return QueryFacts(
        keys=frozenset(question_names(question)),
        years=years,
        quarters=quarters,
        forms=frozenset(forms),
        latest=bool(_LATEST.search(question)) and not years,
    )


@dataclass
class _Doc:
    id: int
    keys: set[str]
    years: set[int]
    quarters: set[tuple[int, int]]
    forms: set[str]
    end: str  # ISO date of the period's end ('' when unknown)
    org: str


@dataclass
class DocumentIndex:
    """The collection's documents as routing sees them (built once per change of documents)."""

    docs: list[_Doc] = field(default_factory=list)
    idf: dict[str, float] = field(default_factory=dict)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    @staticmethod
    def build(rows: list[tuple[int, str, str, bytes | None]], dim: int) -> DocumentIndex:
        docs: list[_Doc] = []
        vecs = np.zeros((len(rows), dim), dtype=np.float32)
        for i, (doc_id, path, profile_json, vector) in enumerate(rows):
            p = DocumentProfile.from_json(profile_json)
            label = p.file_label or readable_file_name(path)
            name_text = " ".join((p.organisation, p.title, label))
            forms = _forms(" ".join((p.form, label)))
            if p.form.lower() == "annual report":
                forms.add("10-K")
            keys = _name_keys(name_text)
            # "airbnbs.txt" also answers to "Airbnb".
            keys |= {k[:-1] for k in keys if len(k) > 4 and k.endswith("s")}
            docs.append(
                _Doc(
                    id=doc_id,
                    keys=keys,
                    years=set(p.years),
                    quarters=set(p.quarters),
                    forms=forms,
                    end=p.period_end,
                    org=re.sub(r"[\W_]+", "", p.organisation.casefold()),
                )
            )
            if vector is not None and len(vector) == dim * 4:
                vecs[i] = np.frombuffer(vector, dtype=np.float32)
        df: dict[str, int] = {}
        for d in docs:
            for k in d.keys:
                df[k] = df.get(k, 0) + 1
        n = len(docs)
        # A key every document has (the organisation of a one-company collection) routes
        # nowhere: its weight is zero.
        idf = {k: math.log(n / c) for k, c in df.items()}
        return DocumentIndex(docs, idf, vecs)

    def priors(self, facts: QueryFacts, qv: np.ndarray | None) -> dict[int, float]:
        """Each document's prior in [0, 1] (the best-matching document gets 1); empty when the
        question points at no document in particular."""
        if not self.docs:
            return {}
        n = len(self.docs)
        name = np.zeros(n)
        period = np.zeros(n)
        form = np.zeros(n)
        latest = np.zeros(n)
        for i, d in enumerate(self.docs):
            name[i] = sum(self.idf.get(k, 0.0) for k in d.keys & facts.keys)
            if facts.quarters:
                if any(q in d.quarters for q in facts.quarters):
                    period[i] = 1.0
                elif any(y in d.years for y, _q in facts.quarters):
                    period[i] = 0.3
            elif facts.years and any(y in d.years for y in facts.years):
                period[i] = 1.0
            if facts.forms and d.forms & facts.forms:
                form[i] = 1.0
        if name.max() > 0:
            name /= name.max()
        if facts.latest:
            # The newest report among those the question names (or among all).
            pool = [i for i in range(n) if name[i] >= 0.5] or list(range(n))
            by_org: dict[str, str] = {}
            for i in pool:
                d = self.docs[i]
                if d.end and d.end > by_org.get(d.org, ""):
                    by_org[d.org] = d.end
            for i in pool:
                d = self.docs[i]
                if d.end and d.end == by_org.get(d.org):
                    latest[i] = 1.0
        # The question's similarity to each document's label: a tie-breaker between documents
        # that match it equally well otherwise (raw cosines, so that equal labels stay equal).
        similar = np.zeros(n)
        if qv is not None and self.vectors.shape == (n, qv.shape[0]):
            similar = np.clip(self.vectors @ qv, 0.0, 1.0)
        raw = W_NAME * name + W_PERIOD * period + W_FORM * form + W_LATEST * latest
        if not facts.names_anything or raw.max() <= 0:
            return {}
        raw = raw + W_SIMILAR * similar
        top = float(raw.max())
        return {d.id: float(raw[i] / top) for i, d in enumerate(self.docs)}

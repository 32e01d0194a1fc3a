"""The claim check: does a sentence say what the passages it cites say?

Similarity alone never makes a claim supported. A sentence's checkable facts must each be found
in (or be consistent with) a cited passage:

- every number, with its scale, unit and currency ("$81.8 billion" agrees with "81,797" in a
  table headed "in millions"; "30 days" does not agree with "25 days"), percentages and years;
- its polarity: a sentence that says "not", "no", "never" ... needs a source that says so too,
  and a plain statement is not backed by a source sentence that denies it;
- every name (people, organisations, products, places, months): capitalised words inside the
  sentence, acronyms and product names such as "iPhone" or "10-Q".

A sentence whose facts all check out and whose words match the passage is *supported*. One with
no checkable facts that matches well is only *likely*. Anything else is *unsupported*, with a
reason a person can read ("30 days is not in source [1], which says 25 days.").

The same check serves answers (``citations.cite``) and ``folio verify``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

SUPPORTED = "supported"
LIKELY = "likely"  # no checkable facts; the words or the meaning match
UNSUPPORTED = "unsupported"
INFERRED = "inferred"  # no marker; attributed to the source that backs it
NO_SOURCE = "no source"  # no marker and no source backs it

# How bad a status is, for a chip that stands for several sentences (worst wins).
SEVERITY = {SUPPORTED: 0, LIKELY: 1, INFERRED: 2, NO_SOURCE: 3, UNSUPPORTED: 4}

# A sentence must match its passage at least this well (the larger of content-word overlap and
# embedding similarity) to be supported or likely.
MATCH_THRESHOLD = 0.5

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_STOP = frozenset(
    """a an the and or but if then than of to in on at by for with from as is are was were be
    been being it its this that these those there their they them he she his her we our you your
    i me my not no yes do does did done have has had can could will would should may might must
    so such also into about over under between which who whom whose what when where why how all
    any each other some more most very only just per via""".split()
)
_NEGATIONS = frozenset(
    """not no never none nobody nothing neither nor without cannot nowhere""".split()
)
_NEG_CONTRACTION = re.compile(r"\b\w+n['’]t\b", re.IGNORECASE)

# Words that open or pepper an answer with a capital letter without naming anything.
_NOT_NAMES = frozenset(
    """i source sources page pages section answer note yes no however according based the
    this that these those it in on at for to of and or but a an as by with from""".split()
)

_NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "hundred": 100,
}  # fmt: skip
_NUMBER_WORD = re.compile(
    r"\b(" + "|".join(_NUMBER_WORDS) + r")(?:[- ](two|three|four|five|six|seven|eight|nine))?\b",
    re.IGNORECASE,
)
_SCALES = {
    "thousand": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "mn": 1e6, "m": 1e6,
    "billion": 1e9, "billions": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12, "thousands": 1e3,
}  # fmt: skip
_QUANTITY = re.compile(
    r"(?<![\w.])(?<![A-Za-z]-)"
    r"(?P<cur>(?:US)?\$|€|£|¥|(?:USD|EUR|GBP)\s?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<scale>thousands?|millions?|billions?|trillion|bn|mn)\b|(?P<short>[kmb])\b)?"
    r"(?:\s?(?P<pct>%|percent\b|per\s?cent\b))?"
    r"(?![\w])(?!-[A-Za-z])",
    re.IGNORECASE,
)
_FISCAL = re.compile(r"\b(?:FY\s?'?|fiscal\s+(?:year\s+)?)(\d{4}|\d{2})\b", re.IGNORECASE)
_NUMBERS_OUT = re.compile(
    r"[$€£¥]?\d[\d,.]*%?|\b(?:thousands?|millions?|billions?|percent)\b", re.I
)
_TABLE_SCALE = re.compile(r"\bin\s+(thousands|millions|billions)\b", re.IGNORECASE)
_UNIT_FAMILIES = {
    "time": {"second", "minute", "hour", "day", "week", "month", "year", "quarter"},
    "money": {"dollar", "euro", "pound", "cent", "yen", "franc"},
    "length": {"millimetre", "centimetre", "metre", "kilometre", "meter", "mile", "inch", "foot"},
    "mass": {"gram", "kilogram", "kg", "tonne", "ton", "pound"},
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“(\[]?[A-Z0-9])|\n+")


@dataclass(frozen=True)
class Quantity:
    text: str  # as written, with its unit word: "$81.8 billion", "25 days"
    value: float  # in plain units: 81.8e9
    tolerance: float  # half a unit of the last digit written: 0.05e9
    kind: str  # number | percent | year
    unit: str  # the word that follows ("day"), singular, or ""


@dataclass(frozen=True)
class Passage:
    """A passage a claim is checked against: its [n], its text and its context header."""

    number: int
    text: str
    context: str = ""


@dataclass(frozen=True)
class Verdict:
    status: str  # supported | likely | unsupported
    reason: str  # a sentence a person can read; "" when supported
    score: float  # how well the words match the best passage (0..1)
    source: int | None  # the passage that backs it (or, when a fact conflicts, the one it cites)
    conflict: bool = False  # a number, name or negation disagrees with a matching passage
    says: str = ""  # when conflict: what the source says instead


# -- facts ---------------------------------------------------------------------------------


def _stem(word: str) -> str:
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    for suffix in ("ies", "ing", "ed", "es", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return w


def content_words(text: str) -> set[str]:
    words = set()
    for w in _WORD.findall(text.lower()):
        w = w.replace("’", "'")
        if w in _STOP or (len(w) < 2 and not w.isdigit()):
            continue
        words.add(_stem(w))
    return words


def overlap(sentence: str, passage: str) -> float:
    """Share of the sentence's content words found in the passage (0..1)."""
    words = content_words(sentence)
    if not words:
        return 0.0
    return len(words & content_words(passage)) / len(words)


def _fit(claim: str, passage: str) -> float:
    """Like ``overlap``, but one shared word out of two is not a match: at least three count."""
    words = content_words(claim)
    return len(words & content_words(passage)) / max(3, len(words))


def _spell_numbers(text: str) -> str:
    """ "twenty-five days" -> "25 days" (not "one": it is rarely a count)."""

    def sub(m: re.Match[str]) -> str:
        value = _NUMBER_WORDS[m.group(1).lower()]
        if m.group(2):
            value += _NUMBER_WORDS[m.group(2).lower()]
        return str(value)

    return _NUMBER_WORD.sub(sub, text)


def quantities(text: str, table_scale: float = 1.0) -> list[Quantity]:
    """Numbers with their scale, unit and kind. ``table_scale`` (1e6 for a table "in millions")
    applies to bare numbers of a passage: they are read at both scales."""
    text = _spell_numbers(text)
    out: list[Quantity] = []
    for m in _FISCAL.finditer(text):
        y = int(m.group(1))
        out.append(Quantity(m.group(0), float(y + 2000 if y < 100 else y), 0.0, "year", ""))
    fiscal_spans = [m.span() for m in _FISCAL.finditer(text)]
    for m in _QUANTITY.finditer(text):
        if any(a <= m.start() < b for a, b in fiscal_spans):
            continue
        raw = m.group("num")
        digits = raw.replace(",", "")
        value = float(digits)
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        scale_word = (m.group("scale") or m.group("short") or "").lower()
        if m.group("short") and not m.group("cur"):
            scale_word = ""  # "5m" without a currency may be metres
        scale = _SCALES.get(scale_word, 1.0)
        after = text[m.end() :]
        unit_m = re.match(r"\s*([A-Za-z]+)", after)
        unit = _stem(unit_m.group(1)) if unit_m else ""
        if unit in _STOP:
            unit = ""
        if m.group("pct"):
            kind, unit = "percent", ""
        elif (
            not m.group("cur")
            and not scale_word
            and "," not in raw
            and decimals == 0
            and 1900 <= value <= 2100
            and len(digits) == 4
        ):
            kind = "year"
        else:
            kind = "number"
        if m.group("cur"):
            unit = {"$": "dollar", "€": "euro", "£": "pound", "¥": "yen"}.get(
                m.group("cur").strip()[-1], "dollar"
            )
        shown = m.group(0).strip()
        if unit_m and unit and not m.group("cur") and kind == "number":
            if _family(unit) or unit_m.group(1).islower():
                shown = f"{shown} {unit_m.group(1)}"
            else:
                unit = ""  # "6,840 Total": a table's next label, not a unit
        tol = 0.5 * 10.0 ** (-decimals) * scale
        out.append(Quantity(shown, value * scale, tol, kind, unit))
        if kind == "number" and scale == 1.0 and table_scale != 1.0:
            words = {1e3: "thousands", 1e6: "millions", 1e9: "billions"}.get(table_scale, "")
            out.append(
                Quantity(
                    f"{shown} (in {words})", value * table_scale, tol * table_scale, kind, unit
                )
            )
    return out


def _family(unit: str) -> str | None:
    """ "time:day" for "day" or "days"; None for a word that is not a known unit."""
    for word in (unit, unit[:-1] if unit.endswith("s") else unit):
        for name, words in _UNIT_FAMILIES.items():
            if word in words:
                return f"{name}:{word}"
    return None


def _agrees(claim: Quantity, seen: Quantity) -> bool:
    if (claim.kind == "percent" or seen.kind == "percent") and claim.kind != seen.kind:
        return False
    if claim.kind == "year" and seen.kind == "year":
        return claim.value == seen.value
    # Known units must be the same unit ("25 days" is not "25 weeks").
    a, b = _family(claim.unit), _family(seen.unit)
    if a and b and a != b:
        return False
    # The source's figure, rounded as the claim writes it ("$81.8 billion" for 81,797 million);
    # a claim more precise than its source ("$1.1 million" for "1" in millions) is not backed.
    tol = claim.tolerance + 1e-9 * max(abs(claim.value), 1.0)
    return abs(claim.value - seen.value) <= tol


def negations(text: str) -> int:
    """How many negations the text has ("not", "no", "never", "doesn't", ...)."""
    words = [w.lower() for w in _WORD.findall(text)]
    plain = sum(w in _NEGATIONS for w in words)
    return plain + len(_NEG_CONTRACTION.findall(text))


def negated(text: str) -> bool:
    return negations(text) > 0


def names(sentence: str) -> list[str]:
    """Words that name something: capitalised inside the sentence, acronyms, product names,
    codes with digits ("10-Q", "Q3", "2019-nCoV")."""
    return [w for w, opener in _capitalised(sentence) if not opener]


def openers(sentence: str) -> list[str]:
    """Capitalised words that open a sentence or clause: a name or just a capital letter.
    The check treats them as names only when the passages lack the word altogether."""
    return [w for w, opener in _capitalised(sentence) if opener]


def _capitalised(sentence: str) -> list[tuple[str, bool]]:
    out: dict[str, bool] = {}
    first = True
    for m in re.finditer(r"[A-Za-z0-9][\w'’&.-]*[\w]|[A-Z]", sentence):
        word = m.group(0).rstrip(".")
        before = sentence[: m.start()].rstrip()
        after = sentence[m.end() :]
        start_of_clause = (
            first
            or before.endswith((":", "•", "-", "—", '"', "“", "(", ";"))
            or (before.endswith((".", "!", "?")) and not before.endswith(("Inc.", "Co.", "Ltd.")))
        )
        first = False
        plain = re.sub(r"['’]s$", "", word)
        if plain.lower() in _NOT_NAMES or len(plain) < 2 or not any(c.isalpha() for c in plain):
            continue
        inner_caps = any(ch.isupper() for ch in plain[1:])
        has_digit = any(ch.isdigit() for ch in plain)
        if has_digit:
            # "Q3", "10-Q", "2BP", "H1N1" name things; "25-day" or "3rd" do not.
            if any(ch.isupper() for ch in plain) or re.search(r"[A-Za-z]\d", plain):
                out.setdefault(plain, False)
        elif inner_caps:
            out.setdefault(plain, False)
        elif plain[0].isupper():
            named = (
                not start_of_clause
                or re.match(r"['’]s\b|\s+[A-Z][a-z]", after) is not None
                or word != plain
            )  # at a sentence's start only "Apple's", "Tim Cook", ...
            if named:
                out[plain] = False
            elif plain.lower() not in _STOP:
                out.setdefault(plain, True)
    return list(out.items())


def _name_found(name: str, text: str) -> bool:
    key = name.lower()
    low = text.lower().replace("’", "'")
    if re.search(rf"(?<![\w]){re.escape(key)}(?![\w])", low):
        return True
    stem = _stem(key)
    return len(stem) >= 3 and re.search(rf"(?<![\w]){re.escape(stem)}\w{{0,3}}", low) is not None


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _table_scale(text: str) -> float:
    m = _TABLE_SCALE.search(text)
    return {"thousands": 1e3, "millions": 1e6, "billions": 1e9}[m.group(1).lower()] if m else 1.0


def _quote(text: str, width: int = 140) -> str:
    flat = " ".join(text.split())
    return "“" + (flat if len(flat) <= width else flat[: width - 1].rstrip() + "…") + "”"


def _sources_label(numbers: Sequence[int]) -> str:
    ns = [f"[{n}]" for n in numbers]
    if len(ns) == 1:
        return f"source {ns[0]}"
    return "sources " + ", ".join(ns[:-1]) + f" and {ns[-1]}"


# -- the check -----------------------------------------------------------------------------


def check(
    claim: str, passages: Sequence[Passage], similarity: Sequence[float] | None = None
) -> Verdict:
    """Check one sentence against the passages it cites (taken together).

    ``similarity`` holds the embedding similarity of the claim with each passage, if known.
    """
    claim = " ".join(re.sub(r"\[\d+\]", " ", claim).split())
    if not passages:
        return Verdict(UNSUPPORTED, "It cites no source.", 0.0, None)
    numbers = [p.number for p in passages]
    label = _sources_label(numbers)
    scores = [
        max(_fit(claim, p.text + "\n" + p.context), float(similarity[i]) if similarity else 0.0)
        for i, p in enumerate(passages)
    ]
    best_i = max(range(len(passages)), key=lambda i: scores[i])
    score = scores[best_i]
    best = passages[best_i].number
    topical = score >= MATCH_THRESHOLD
    everything = "\n".join(p.text + "\n" + p.context for p in passages)

    def no(reason: str, says: str = "", source: int | None = best) -> Verdict:
        return Verdict(UNSUPPORTED, reason, score, source, conflict=topical, says=says)

    # 1. Numbers: each must agree with a number of a cited passage.
    claim_q = [q for q in quantities(claim)]
    seen: list[tuple[int, Quantity, str]] = []  # passage, figure, the line it is on
    for p in passages:
        scale = _table_scale(p.context + "\n" + p.text)
        for line in _sentences(p.text):
            seen.extend((p.number, q, line) for q in quantities(line, scale))
        seen.extend((p.number, q, "") for q in quantities(p.context))
    for q in claim_q:
        if any(_agrees(q, s) for _, s, _ in seen):
            continue
        near = _nearest(q, [s for _, s, _ in seen])
        if near is not None:
            n = next(num for num, s, _ in seen if s is near)
            where = "which says" if len(numbers) == 1 else f"source [{n}] says"
            sep = "," if len(numbers) == 1 else ";"
            return no(f"{q.text} is not in {label}{sep} {where} {near.text}.", near.text, n)
        return no(f"{q.text} is not in {label}.")
    # A claim with one figure: the figure must be on the line that the claim is about, not on
    # a neighbouring row of the same table ("Total lease cost" is not "Operating lease cost").
    figures = [q for q in claim_q if q.kind != "year"]
    if len(figures) == 1:
        q = figures[0]
        words = content_words(_NUMBERS_OUT.sub(" ", claim))
        lines = [(n, s, line) for n, s, line in seen if line and s.kind != "year"]

        def line_fit(line: str) -> float:
            return len(words & content_words(line)) / len(words) if words else 0.0

        if words and lines:
            top_n, top_s, top_line = max(lines, key=lambda x: line_fit(x[2]))
            agreeing = [line_fit(line) for _, s, line in lines if _agrees(q, s)]
            best_agree = max(agreeing, default=0.0)
            if line_fit(top_line) >= 0.6 and line_fit(top_line) > best_agree + 0.2:
                here = [s for n, s, line in lines if line == top_line and s.kind == q.kind]
                closest = _nearest(q, here)
                says = closest.text if closest is not None else top_s.text
                return no(
                    f"{q.text} is not what source [{top_n}] gives for this; it says {says}.",
                    says,
                    top_n,
                )

    # 2. Names: each must appear in a cited passage (or its document's title and headings).
    for name in names(claim) + openers(claim):
        if not _name_found(name, everything):
            return no(f"{label[0].upper() + label[1:]} does not mention {name}.")

    # 3. Negation: the sentence and the source sentence that matches it best must agree.
    aligned = _aligned_sentence(claim, passages)
    if aligned is not None:
        num, sent, fit = aligned
        if negations(claim) > negations(sent):
            return no(
                f"The statement says the opposite of source [{num}], which says {_quote(sent)}.",
                sent,
                num,
            )
        if negations(claim) < negations(sent) and fit >= 0.6:
            return no(
                f"Source [{num}] says the opposite: {_quote(sent)}.",
                sent,
                num,
            )
    elif negated(claim):
        return no(f"{label[0].upper() + label[1:]} does not say this.")

    # 4. The words: facts alone do not make a match; the sentence must be about the passage.
    has_facts = bool(claim_q or names(claim))
    if not topical:
        return Verdict(
            UNSUPPORTED, f"{label[0].upper() + label[1:]} does not say this.", score, best
        )
    if has_facts:
        return Verdict(SUPPORTED, "", score, best)
    return Verdict(
        LIKELY,
        f"It has no figures or names to check; its words match {label}.",
        score,
        best,
    )


def _nearest(q: Quantity, seen: Sequence[Quantity]) -> Quantity | None:
    """The passage number a person would compare the claim's with: same kind and unit first,
    then the closest value."""
    same = [s for s in seen if s.kind == q.kind] or list(seen)
    if not same:
        return None
    unit = [s for s in same if s.unit == q.unit and q.unit]
    pool = unit or same

    def distance(s: Quantity) -> tuple[float, float]:
        if q.value <= 0 or s.value <= 0:
            return (abs(q.value - s.value), 0.0)
        # Same leading digits first ("81.8 million" is compared with "81,797"), then size.
        digits = abs(_mantissa(q.value) - _mantissa(s.value))
        return (round(digits, 1), abs(math.log(q.value / s.value)))

    return min(pool, key=distance)


def _mantissa(value: float) -> float:
    return value / 10.0 ** math.floor(math.log10(value))


def _aligned_sentence(claim: str, passages: Sequence[Passage]) -> tuple[int, str, float] | None:
    """The run of one to three cited sentences that shares most content words with the claim
    (at least 40 %); the shortest such run wins a tie."""
    words = content_words(claim)
    if not words:
        return None
    best: tuple[int, str, float] | None = None
    best_key = (-1.0, 0)
    for p in passages:
        sents = _sentences(p.text)
        for i in range(len(sents)):
            for j in range(i + 1, min(i + 3, len(sents)) + 1):
                run = " ".join(sents[i:j])
                fit = len(words & content_words(run)) / len(words)
                key = (round(fit, 6), -len(run))
                if key > best_key:
                    best, best_key = (p.number, run, fit), key
    if best is None or best[2] < 0.4:
        return None
    return best


def split_claims(text: str) -> list[str]:
    """A statement cut into the sentences to check one by one."""
    return [s for s in _sentences(text) if content_words(s) or quantities(s)]

"""``folio bench citations``: how often is a ✓ right, and how often does a true claim get one?

A labelled set is generated, with a fixed seed, from ``../shared/corpus``: 10-Q filing pages,
COVID-QA papers and Paul Graham essays. Each item is a passage (a window of about nine lines
or sentences, the size of a Folio passage) and a claim:

- true claims: a sentence of the passage copied, or lightly paraphrased; for 10-Q tables "in
  millions", a row written out as a sentence in billions ("Total net sales was $81.8 billion");
- false claims: a true one with exactly one thing changed: a number, a scale (million/billion),
  a year, a negation (added or removed) or a name (swapped for a name from elsewhere in the
  corpus that the passage does not contain).

Only sentences with something to check (a figure or a name) are used: they are the ones a
perturbation can make false, and the checker marks a sentence with nothing to check "likely" at
best. Each claim is checked against its passage with the real MiniLM similarity; "supported" is
the prediction. Precision of supported (is a ✓ right?) and recall (does a true claim get one?)
are reported overall, per kind of claim and per data set.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .bench import corpus_dir, docugami_dir
from .claims import SUPPORTED, Passage, check, names, quantities

TRUE_KINDS = ("copied", "paraphrased", "table")
FALSE_KINDS = ("number", "scale", "year", "negation", "entity")


@dataclass(frozen=True)
class Item:
    source: str  # 10-Q | COVID-QA | Paul Graham
    document: str
    passage: str
    context: str
    claim: str
    kind: str  # copied | paraphrased | table | number | scale | year | negation | entity
    true: bool


# -- the passages ----------------------------------------------------------------------------

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"“])|\n+")


def _units(text: str) -> list[str]:
    return [" ".join(s.split()) for s in _SPLIT.split(text) if s.strip()]


def _tenq_pages(limit_files: int = 5, pages: range = range(2, 14)) -> Iterator[tuple[str, str]]:
    from pypdf import PdfReader

    docs = docugami_dir() / "docs"
    files = sorted(docs.glob("2023 Q3 *.pdf"))[:limit_files]
    for f in files:
        reader = PdfReader(f)
        for i in pages:
            if i < len(reader.pages):
                yield f"{f.name}, page {i + 1}", reader.pages[i].extract_text() or ""


def _covid_docs(limit: int = 25) -> Iterator[tuple[str, str]]:
    path = corpus_dir() / "qa" / "covid_qa" / "200423_covidQA.json"
    data = json.loads(path.read_text("utf-8"))
    for n, article in enumerate(data["data"][:limit]):
        for p in article["paragraphs"][:1]:
            yield f"covid-{n}", p["context"]


def _pg_docs(limit: int = 25) -> Iterator[tuple[str, str]]:
    folder = corpus_dir() / "qa" / "tonic_validate_paul_graham" / "paul_graham_essays"
    for f in sorted(folder.glob("*.txt"))[:limit]:
        yield f.name, f.read_text("utf-8", errors="replace")


# -- perturbations (written independently of the checker's own readers) -----------------------

_NUM = re.compile(r"(?<![\w.,$\[])(\$?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w])(?!-[A-Za-z])")
_YEAR = re.compile(r"(?<![\w.,$])(19[5-9]\d|20[0-3]\d)(?![\w,])")
_SCALE = re.compile(r"\b(thousand|million|billion)\b", re.IGNORECASE)
_AUX = re.compile(
    r"\b(is|are|was|were|can|will|has|have|had|does|do|did|should|could|would|may|must)\b"
)
_NOT = re.compile(r"\b(not|never|no longer)\s+")
_PARAPHRASE = [
    (r"\bapproximately\b", "about"), (r"\bincreased\b", "rose"), (r"\bdecreased\b", "fell"),
    (r"^(?:However|In addition|Additionally|Moreover|Furthermore|Also), ", ""),
    (r"\bprimarily\b", "mainly"), (r"\bdue to\b", "because of"), (r"\brequire\b", "need"),
    (r"\badditional\b", "more"), (r"\bsignificant\b", "large"), (r"\bpurchase\b", "buy"),
    (r"\butilize\b", "use"), (r"\bin order to\b", "to"), (r"\bapproach\b", "method"),
    (r"\bhowever\b", "but"), (r"\bobtained\b", "got"), (r"\bdemonstrated\b", "showed"),
    (r"\bindividuals\b", "people"), (r"\bcommence\b", "start"), (r"\bquite\b", "very"),
]  # fmt: skip


def _change_number(rng: random.Random, sentence: str, passage: str) -> str | None:
    spots = [m for m in _NUM.finditer(sentence) if not _YEAR.fullmatch(m.group(2))]
    rng.shuffle(spots)
    for m in spots:
        whole = m.group(2).replace(",", "")
        value = int(whole)
        for _ in range(6):
            new = rng.choice([value + rng.choice([1, 2, 3, 5, 10]), value * 2, value * 3 + 1])
            if value > 10 and rng.random() < 0.5:
                new = max(1, value - rng.choice([1, 2, 5, 10]))
            shown = f"{new:,}" if "," in m.group(2) else str(new)
            out = m.group(1) + shown + (m.group(3) or "")
            if out not in passage and new != value:
                return sentence[: m.start()] + out + sentence[m.end() :]
    return None


def _change_scale(rng: random.Random, sentence: str, passage: str) -> str | None:
    m = _SCALE.search(sentence)
    if not m:
        return None
    swap = {"thousand": "million", "million": "billion", "billion": "million"}
    word = swap[m.group(1).lower()]
    return sentence[: m.start()] + word + sentence[m.end() :]


def _change_year(rng: random.Random, sentence: str, passage: str) -> str | None:
    m = _YEAR.search(sentence)
    if not m:
        return None
    for _ in range(6):
        year = str(int(m.group(1)) + rng.choice([-3, -2, -1, 1, 2, 3]))
        if year not in passage:
            return sentence[: m.start()] + year + sentence[m.end() :]
    return None


def _change_negation(rng: random.Random, sentence: str, passage: str) -> str | None:
    m = _NOT.search(sentence)
    if m:
        return sentence[: m.start()] + sentence[m.end() :]
    m = _AUX.search(sentence)
    if not m:
        return None
    return sentence[: m.end()] + " not" + sentence[m.end() :]


def _change_entity(rng: random.Random, sentence: str, passage: str, pool: list[str]) -> str | None:
    words = [m for m in re.finditer(r"\b[A-Z][a-zA-Z]{2,}\b", sentence) if m.group(0) in pool]
    if not words:
        return None
    m = rng.choice(words)
    for _ in range(10):
        other = rng.choice(pool)
        if other.lower() not in passage.lower() and other != m.group(0):
            return sentence[: m.start()] + other + sentence[m.end() :]
    return None


def _paraphrase(sentence: str) -> str | None:
    out = sentence
    for pattern, repl in _PARAPHRASE:
        out = re.sub(pattern, repl, out)
    out = re.sub(r"\s*\((?![^)]*\d)[^)]*\)", "", out)  # parentheses without figures
    out = " ".join(out.split())
    if out and out[0].islower():
        out = out[0].upper() + out[1:]
    return out if out != sentence else None


def _name_pool(texts: list[str]) -> list[str]:
    """Words written with a capital inside sentences, seen at least twice in the corpus."""
    seen: Counter[str] = Counter()
    for t in texts:
        for m in re.finditer(r"(?<=[a-z,;] )([A-Z][a-z]{2,})\b", t):
            seen[m.group(1)] += 1
    common = {"The", "This", "That", "These", "There", "They", "When", "What", "And", "But"}
    return sorted(w for w, n in seen.items() if n >= 2 and w not in common)


# -- the set -------------------------------------------------------------------------------


def generate(seed: int = 15, per_source: int = 120) -> list[Item]:
    """The labelled set: the same items for the same corpus and seed."""
    rng = random.Random(seed)
    sources = {
        "10-Q": list(_tenq_pages()),
        "COVID-QA": list(_covid_docs()),
        "Paul Graham": list(_pg_docs()),
    }
    items: list[Item] = []
    for source, docs in sources.items():
        pool = _name_pool([t for _, t in docs])
        candidates: list[tuple[str, str, str, str]] = []  # document, passage, context, sentence
        for doc, text in docs:
            units = _units(text)
            scale = " (in millions)" if re.search(r"in millions", text, re.IGNORECASE) else ""
            context = f"{doc.split(',')[0]}{scale}" if source == "10-Q" else doc
            for i, sent in enumerate(units):
                words = sent.split()
                if not (6 <= len(words) <= 60) or not sent[0].isupper():
                    continue
                bare = re.sub(r"\[\d+\]", " ", sent)  # reference markers are not facts
                if not (quantities(bare) or names(bare)):
                    continue  # nothing a perturbation could change
                window = "\n".join(units[max(0, i - 4) : i + 5])
                candidates.append((doc, window, context, sent))
        rng.shuffle(candidates)
        chosen = candidates[:per_source]
        for doc, window, context, sent in chosen:
            items.append(Item(source, doc, window, context, sent, "copied", True))
            para = _paraphrase(sent)
            if para:
                items.append(Item(source, doc, window, context, para, "paraphrased", True))
            changes = {
                "number": _change_number(rng, sent, window),
                "scale": _change_scale(rng, sent, window),
                "year": _change_year(rng, sent, window),
                "negation": _change_negation(rng, sent, window),
                "entity": _change_entity(rng, sent, window, pool),
            }
            for kind, claim in changes.items():
                if claim and claim != sent:
                    items.append(Item(source, doc, window, context, claim, kind, False))
        if source == "10-Q":
            items.extend(_table_items(rng, docs))
    return items


_ROW = re.compile(r"^([A-Z][A-Za-z ,'&()-]{3,60}?)\s+\$?\s*(\d{1,3}(?:,\d{3})+)\s")


def _table_items(rng: random.Random, docs: list[tuple[str, str]]) -> list[Item]:
    """Rows of tables "in millions" written out in billions: true, then with one change."""
    out: list[Item] = []
    for doc, text in docs:
        if not re.search(r"in millions", text, re.IGNORECASE):
            continue
        lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
        rows = [(i, m) for i, line in enumerate(lines) if (m := _ROW.match(line))]
        rng.shuffle(rows)
        for i, m in rows[:3]:
            label, figure = m.group(1).strip(" ,$"), int(m.group(2).replace(",", ""))
            if figure < 1000 or len(label) < 4:
                continue
            window = "\n".join(lines[max(0, i - 4) : i + 5])
            context = f"{doc.split(',')[0]} (in millions)"
            billions = f"{figure / 1000:.1f}"
            true = f"{label} was ${billions} billion."
            out.append(Item("10-Q", doc, window, context, true, "table", True))
            out.append(
                Item(
                    "10-Q", doc, window, context, true.replace("billion", "million"), "scale", False
                )
            )
            wrong = f"{float(billions) + rng.choice([0.3, 0.5, 1.0, 2.0]):.1f}"
            out.append(
                Item("10-Q", doc, window, context, true.replace(billions, wrong), "number", False)
            )
    return out


# -- the measurement -------------------------------------------------------------------------


def bench_citations(seed: int = 15, per_source: int = 120, examples: int = 5) -> dict[str, Any]:
    if not (corpus_dir() / "qa").is_dir():
        raise SystemExit(f"The benchmark corpus is missing: {corpus_dir()}")
    from .embed import load_embedder

    t0 = time.perf_counter()
    items = generate(seed, per_source)
    embedder = load_embedder()
    claims = embedder.embed([it.claim for it in items])
    passages = embedder.embed([it.passage for it in items])
    sims = (claims * passages).sum(axis=1)
    predicted: list[bool] = []
    statuses: Counter[str] = Counter()
    for it, sim in zip(items, sims, strict=True):
        v = check(it.claim, [Passage(1, it.passage, it.context)], [float(sim)])
        predicted.append(v.status == SUPPORTED)
        statuses[f"{'true' if it.true else 'false'}:{v.status}"] += 1

    def rates(select: list[int]) -> dict[str, Any]:
        n = len(select)
        marked = sum(predicted[i] for i in select)
        return {"n": n, "marked_supported": marked, "share": round(marked / n, 3) if n else None}

    true_idx = [i for i, it in enumerate(items) if it.true]
    false_idx = [i for i, it in enumerate(items) if not it.true]
    tp = sum(predicted[i] for i in true_idx)
    fp = sum(predicted[i] for i in false_idx)
    result: dict[str, Any] = {
        "seed": seed,
        "items": len(items),
        "true_claims": len(true_idx),
        "false_claims": len(false_idx),
        "precision_supported": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall_supported": round(tp / len(true_idx), 4) if true_idx else None,
        "statuses": dict(sorted(statuses.items())),
        "true_by_kind": {k: rates([i for i in true_idx if items[i].kind == k]) for k in TRUE_KINDS},
        # Per kind of change: how many false claims got a ✓ anyway, and the precision of ✓ on
        # the true claims plus only that kind of false ones.
        "false_by_kind": {},
        "by_source": {},
        "wrongly_supported_examples": [],
        "seconds": 0.0,
    }
    for k in FALSE_KINDS:
        sel = [i for i in false_idx if items[i].kind == k]
        r = rates(sel)
        fp_k = r["marked_supported"]
        r["precision_with_true"] = round(tp / (tp + fp_k), 4) if tp + fp_k else None
        r["caught"] = round(1 - r["share"], 3) if r["share"] is not None else None
        result["false_by_kind"][k] = r
    for s in ("10-Q", "COVID-QA", "Paul Graham"):
        t = [i for i in true_idx if items[i].source == s]
        f = [i for i in false_idx if items[i].source == s]
        tps, fps = sum(predicted[i] for i in t), sum(predicted[i] for i in f)
        result["by_source"][s] = {
            "true": len(t),
            "false": len(f),
            "precision_supported": round(tps / (tps + fps), 4) if tps + fps else None,
            "recall_supported": round(tps / len(t), 4) if t else None,
        }
    wrong = [items[i] for i in false_idx if predicted[i]]
    result["wrongly_supported_examples"] = [
        {"kind": it.kind, "source": it.source, "claim": it.claim} for it in wrong[:examples]
    ]
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def table(result: dict[str, Any]) -> str:
    """The figures as a Markdown table for the README."""
    lines = [
        "| claims | n | marked supported | share |",
        "|---|---:|---:|---:|",
    ]
    for k, r in result["true_by_kind"].items():
        lines.append(f"| true, {k} | {r['n']} | {r['marked_supported']} | {r['share']} |")
    for k, r in result["false_by_kind"].items():
        lines.append(
            f"| false, {k} changed | {r['n']} | {r['marked_supported']} | {r['share']} "
            f"(precision with true: {r['precision_with_true']}) |"
        )
    return "\n".join(lines)

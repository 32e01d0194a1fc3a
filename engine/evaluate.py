"""``folio eval``: how well a collection's search finds the right document and page.

An organisation writes down questions its staff will ask, with the document that answers each
(and the page, or the answer itself so Folio can find the page), and measures its own
collection before rollout. The same code runs Folio's retrieval benchmarks.

Questions file: CSV (a header row) or JSONL (one object a line). Fields, case-insensitive:
- ``question`` (or ``query``): the question;
- ``document`` (or ``documents``, ``source``, ``source docs``, ``file``): the file that answers
  it — a path, a file name, a name without extension, or a pattern with ``*``; several are
  separated by ``;`` or ``|`` (or given as a JSON list) and any of them counts;
- ``page`` (or ``pages``): optional, the page(s) that hold the answer (``3`` or ``3;4``);
- ``answer``: optional; without a page, the pages of the expected documents that hold the
  answer's figures (or its text) are taken as the answer's pages.
A row without a question or document is reported with its line number and left out.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FolioError
from .types import Hit

_QUESTION = ("question", "query", "q")
_DOCUMENT = ("document", "documents", "doc", "source", "source docs", "source_docs", "file")
_PAGE = ("page", "pages", "gold page", "gold_page", "evidence page")
_ANSWER = ("answer", "expected", "expected answer", "gold", "reference")

# Figures as reports print them: 36,413 / 1,234.5 / 12.5% / 0.87 — with a thousands separator
# or decimals, at least four characters, so that "2", "10" or a year (which most pages hold)
# never locate a page.
_FIGURE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+%?")


@dataclass(frozen=True)
class EvalQuestion:
    question: str
    documents: tuple[str, ...]
    pages: tuple[int, ...] = ()
    answer: str = ""
    line: int = 0


@dataclass
class QuestionResult:
    question: str
    expected: list[str]  # the expected documents' names ("" when none matched)
    gold_pages: list[tuple[str, int]]  # (document name, page); empty when unknown
    got: list[tuple[str, int]]  # (document name, page) of the hits, best first
    doc_rank: int | None  # 1-based rank of the first hit in an expected document
    page_rank: int | None  # 1-based rank of the first hit on an answer page
    note: str = ""


@dataclass
class EvalReport:
    k: int
    results: list[QuestionResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def _rate(self, ranks: Sequence[int | None]) -> float | None:
        return round(sum(1 for r in ranks if r is not None) / len(ranks), 3) if ranks else None

    def _mrr(self, ranks: Sequence[int | None]) -> float | None:
        return round(sum(1.0 / r for r in ranks if r) / len(ranks), 3) if ranks else None

    @property
    def scored(self) -> list[QuestionResult]:
        """Questions whose expected document is in the collection."""
        return [r for r in self.results if r.expected]

    @property
    def paged(self) -> list[QuestionResult]:
        """Questions whose answer page is known."""
        return [r for r in self.scored if r.gold_pages]

    def summary(self) -> dict[str, Any]:
        docs = [r.doc_rank for r in self.scored]
        pages = [r.page_rank for r in self.paged]
        return {
            "k": self.k,
            "questions": len(self.results),
            "questions_scored": len(docs),
            "questions_with_page": len(pages),
            f"document_recall_at_{self.k}": self._rate(docs),
            f"page_recall_at_{self.k}": self._rate(pages),
            "document_mrr": self._mrr(docs),
            "page_mrr": self._mrr(pages),
        }

    def misses(self) -> list[QuestionResult]:
        """Questions whose answer page (or, without one, document) was not in the top k."""
        return [
            r for r in self.scored if (r.page_rank is None if r.gold_pages else r.doc_rank is None)
        ]

    def to_json(self) -> dict[str, Any]:
        out = self.summary()
        out["problems"] = list(self.problems)
        out["results"] = [
            {
                "question": r.question,
                "expected": r.expected,
                "answer_pages": [{"document": d, "page": p} for d, p in r.gold_pages],
                "found": [{"document": d, "page": p} for d, p in r.got],
                "document_rank": r.doc_rank,
                "page_rank": r.page_rank,
                "note": r.note,
            }
            for r in self.results
        ]
        return out


# -- reading the questions file ------------------------------------------------------------


def _field(row: dict[str, Any], names: Sequence[str]) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    for n in names:
        if n in lowered and lowered[n] not in (None, ""):
            return lowered[n]
    return None


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in re.split(r"[;|\n]", str(value)) if p.strip()]


def _pages(value: Any) -> tuple[int, ...]:
    out: list[int] = []
    for part in _split(value) if not isinstance(value, int) else [str(value)]:
        for token in re.split(r"[,\s]+", part):
            if token.isdigit() and int(token) > 0:
                out.append(int(token))
    return tuple(out)


def load_questions(path: Path) -> tuple[list[EvalQuestion], list[str]]:
    """The questions of a CSV or JSONL file, and a line for each row that cannot be used."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise FolioError(f"Could not read the questions file {path}: {e.strerror or e}.") from e
    text = raw.decode("utf-8-sig", errors="replace")
    rows: list[tuple[int, dict[str, Any]]] = []
    problems: list[str] = []
    stripped = text.lstrip()
    if str(path).lower().endswith((".jsonl", ".json")) or stripped.startswith("{"):
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                problems.append(f"line {n}: not a JSON object")
                continue
            if not isinstance(obj, dict):
                problems.append(f"line {n}: not a JSON object")
                continue
            rows.append((n, obj))
    else:
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            rows.append((reader.line_num, dict(row)))
    out: list[EvalQuestion] = []
    for n, row in rows:
        q = _field(row, _QUESTION)
        docs = _split(_field(row, _DOCUMENT))
        if not q or not str(q).strip():
            problems.append(f"line {n}: no question")
            continue
        if not docs:
            problems.append(f"line {n}: no expected document")
            continue
        answer = _field(row, _ANSWER)
        out.append(
            EvalQuestion(
                question=" ".join(str(q).split()),
                documents=tuple(docs),
                pages=_pages(_field(row, _PAGE)),
                answer=str(answer or ""),
                line=n,
            )
        )
    if not out:
        raise FolioError(
            f"{path} holds no usable questions: each row needs a 'question' and a 'document' "
            "field (CSV with a header row, or JSON lines)."
        )
    return out, problems


# -- matching documents and pages ----------------------------------------------------------


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def matches(pattern: str, path: str) -> bool:
    """Does a document named in a questions file mean the indexed file at ``path``?"""
    name = _name(path).casefold()
    stem = name.rsplit(".", 1)[0] if "." in name else name
    p = pattern.strip().casefold()
    if not p:
        return False
    if "*" in p or "?" in p:
        return fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(stem, p)
    if "/" in p or "\\" in p:
        return path.replace("\\", "/").casefold() == p.replace("\\", "/")
    return p in (name, stem)


def answer_pages(answer: str, pages: dict[int, str]) -> list[int]:
    """Pages holding the answer: those with the most of its figures, else its text."""
    figures = sorted({f for f in _FIGURE.findall(answer) if len(f) >= 4})
    if figures:
        scores = {p: sum(f in t for f in figures) for p, t in pages.items()}
        best = max(scores.values(), default=0)
        if best:
            return sorted(p for p, s in scores.items() if s == best)
    flat = " ".join(answer.split()).casefold()
    if 8 <= len(flat) <= 300:
        return sorted(p for p, t in pages.items() if flat in " ".join(t.split()).casefold())
    return []


def evaluate(
    questions: Sequence[EvalQuestion],
    documents: Sequence[tuple[int, str]],
    page_texts: Callable[[int], dict[int, str]],
    search: Callable[[str, int], list[Hit]],
    k: int = 5,
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Ask each question and compare the top ``k`` hits with its expected document and page.

    ``documents`` are the indexed (id, path) pairs; ``page_texts(doc_id)`` gives a document's
    text by page (used to find the answer's pages); ``search(question, k)`` is the search
    under test.
    """
    report = EvalReport(k=k)
    texts: dict[int, dict[int, str]] = {}
    for i, q in enumerate(questions):
        if progress is not None:
            progress(i, len(questions))
        targets = [(d, p) for d, p in documents if any(matches(pat, p) for pat in q.documents)]
        target_ids = {d for d, _ in targets}
        gold: set[tuple[int, int]] = set()
        note = ""
        if not targets:
            note = "the expected document is not in the collection"
        elif q.pages:
            gold = {(d, p) for d, _ in targets for p in q.pages}
        elif q.answer:
            for d, _path in targets:
                if d not in texts:
                    texts[d] = page_texts(d)
                gold.update((d, p) for p in answer_pages(q.answer, texts[d]))
            if not gold:
                note = "the answer's page could not be located"
        hits = search(q.question, k)[:k]
        doc_rank = next((n for n, h in enumerate(hits, 1) if h.doc_id in target_ids), None)
        page_rank = next((n for n, h in enumerate(hits, 1) if (h.doc_id, h.page) in gold), None)
        name_of = dict(documents)
        report.results.append(
            QuestionResult(
                question=q.question,
                expected=[_name(p) for _d, p in targets],
                gold_pages=sorted((_name(name_of[d]), p) for d, p in gold),
                got=[(_name(h.path), h.page) for h in hits],
                doc_rank=doc_rank if targets else None,
                page_rank=page_rank if gold else None,
                note=note,
            )
        )
    if progress is not None:
        progress(len(questions), len(questions))
    return report


def format_report(report: EvalReport, misses: int = 20) -> str:
    """The report as a person reads it on a terminal."""
    s = report.summary()
    k = report.k
    lines = [
        f"{s['questions']} questions; {s['questions_scored']} with their document in the "
        f"collection, {s['questions_with_page']} of them with a known answer page.",
        f"  document recall@{k}: {_pct(s[f'document_recall_at_{k}'])}   "
        f"MRR {s['document_mrr'] if s['document_mrr'] is not None else '-'}",
        f"  page recall@{k}:     {_pct(s[f'page_recall_at_{k}'])}   "
        f"MRR {s['page_mrr'] if s['page_mrr'] is not None else '-'}",
    ]
    for p in report.problems:
        lines.append(f"  left out: {p}")
    missed = report.misses()
    if missed:
        lines.append("")
        lines.append(f"Misses ({len(missed)}; the first {min(misses, len(missed))}):")
        for r in missed[:misses]:
            where = (
                ", ".join(f"{d} p.{p}" for d, p in r.gold_pages[:3])
                if r.gold_pages
                else ", ".join(r.expected[:3])
            )
            got = ", ".join(f"{d} p.{p}" for d, p in r.got[:3]) or "nothing"
            lines.append(f"- {r.question}")
            lines.append(f"    answer in: {where}")
            lines.append(f"    found:     {got}")
    unplaced = [r for r in report.results if r.note]
    if unplaced:
        lines.append("")
        for r in unplaced[:misses]:
            lines.append(f"- not scored: {r.question} ({r.note})")
    return "\n".join(lines)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"

"""``folio bench quotes``: answers made of quotes against answers the model writes.

On the Paul Graham essays, the COVID-QA papers and two 10-Q filings (Apple's and Microsoft's
2023 Q3), each question is asked twice with the same retrieval: with the "quotes" preset and
with the written "answer" preset, with the default model; the quotes are chosen once by the
retriever's scores and once by the model picking sentence numbers. Two figures per set and preset:

- answer contains gold: the answer holds at least half of the gold answer's content words
  (Paul Graham, COVID-QA), or one of the gold answer's figures (10-Q);
- citation correct: the answer cites at least one source, and every document it cites is the
  document the question is about.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .bench import docugami_dir
from .bench_answer import _covid_set, _pg_set, coverage
from .config import EngineConfig

_FIGURE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+")


def _tenq_set(n: int, filings: tuple[str, ...]) -> list[dict[str, str]]:
    rows = list(csv.DictReader((docugami_dir() / "qna_data.csv").open(encoding="utf-8-sig")))
    out = []
    for r in rows:
        doc = r["Source Docs"].strip("*") + ".pdf"
        if r["Question Type"].startswith("Single-Doc") and doc in filings:
            figures = _FIGURE.findall(r["Answer"])
            if figures:
                out.append({"essay": doc, "question": r["Question"], "answer": r["Answer"],
                            "figures": "|".join(figures)})  # fmt: skip
    return out[:n]


def _contains_gold(q: dict[str, str], text: str) -> bool:
    if "figures" in q:
        flat = text.replace(" ", "")
        return any(f in flat for f in q["figures"].split("|"))
    return coverage(q["answer"], text) >= 0.5


def _run(
    session: Any, questions: list[dict[str, str]], preset: str, pick: str = "scores"
) -> dict[str, Any]:
    from .chat import AskOptions

    gold = cited_right = 0
    seconds = 0.0
    for q in questions:
        session.history.clear()
        session.generator.reset_cache()
        t0 = time.perf_counter()
        opts = AskOptions(k=6, preset=preset, exhaustive=False, quote_pick=pick)
        a = session.ask(q["question"], opts)
        seconds += time.perf_counter() - t0
        gold += _contains_gold(q, a.text)
        docs = {Path(c.path).name for c in a.citations}
        cited_right += bool(docs) and docs == {q["essay"]}
    n = len(questions) or 1
    return {
        "answer_contains_gold": round(gold / n, 3),
        "citation_correct": round(cited_right / n, 3),
        "seconds_per_answer": round(seconds / n, 2),
    }


def bench_quotes(n_questions: int = 15, model: str | None = None) -> dict[str, Any]:
    from .chat import ChatSession
    from .generate import GenSettings, load_generator
    from .library import Library

    tmp = tempfile.TemporaryDirectory(prefix="folio-bench-quotes-")
    home = Path(tmp.name)
    lib = Library(EngineConfig(home=home))
    gen = load_generator(model, GenSettings(temperature=0.0, max_answer_tokens=96))
    result: dict[str, Any] = {"model": gen.name, "parameters": gen.parameters(), "sets": {}}

    essays, pg_q = _pg_set(n_questions)
    sets: list[tuple[str, list[Path], list[dict[str, str]]]] = [
        ("Paul Graham", [essays], pg_q),
        ("COVID-QA", [home / "covid-papers"], _covid_set(home / "covid-papers", n_questions)),
    ]
    filings = ("2023 Q3 AAPL.pdf", "2023 Q3 MSFT.pdf")
    tenq = _tenq_set(n_questions, filings)
    if tenq:
        sets.append(("10-Q", [docugami_dir() / "docs" / f for f in filings], tenq))
    for name, paths, questions in sets:
        coll = lib.create(f"bench-{len(result['sets'])}")
        coll.index(paths)
        session = ChatSession([coll], gen)
        result["sets"][name] = {
            "questions": len(questions),
            "quotes": _run(session, questions, "quotes"),
            "quotes_model_picks": _run(session, questions, "quotes", pick="model"),
            "free_text": _run(session, questions, "answer"),
        }
        coll.close()
        # Each set's figures as soon as they are known (the whole run takes a while).
        print(json.dumps({name: result["sets"][name]}), file=sys.stderr, flush=True)
    tmp.cleanup()
    return result


def table(result: dict[str, Any]) -> str:
    lines = [
        "| set | questions | preset | answer contains gold | citation correct | s/answer |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for name, r in result["sets"].items():
        for preset in ("quotes", "quotes_model_picks", "free_text"):
            x = r[preset]
            lines.append(
                f"| {name} | {r['questions']} | {preset.replace('_', ' ')} | "
                f"{x['answer_contains_gold']} | {x['citation_correct']} | "
                f"{x['seconds_per_answer']} |"
            )
    return "\n".join(lines)

"""``folio bench answer``: answer speed and quality, each against a baseline in the same run.

- Speed: time to first token and generation tokens/s of a full ``ChatSession.ask`` (retrieval,
  budgeting, prompt, citations included) against a bare llama-cpp-python streaming call with the
  identical prompt tokens and sampling settings, cold cache for both, in ABBA order.
- KV reuse: time to first token of a follow-up question with the shared prefix cached, against
  the identical prompt with the cache cleared.
- Quality on the Paul Graham essays and COVID-QA papers: retrieval recall@k (a retrieved passage
  from the right document holds most of the gold quote or answer span) and the rate of answers
  that contain most of the gold answer's content words, with and without lost-in-the-middle
  ordering.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from .bench import RssSampler, _mb, corpus_dir
from .citations import content_words
from .config import EngineConfig


def pg_dir() -> Path:
    return corpus_dir() / "qa" / "tonic_validate_paul_graham"


def covid_file() -> Path:
    return corpus_dir() / "qa" / "covid_qa" / "200423_covidQA.json"


def coverage(gold: str, text: str) -> float:
    """Share of the gold text's content words present in ``text``."""
    words = content_words(gold)
    return len(words & content_words(text)) / len(words) if words else 0.0


def _pg_set(n: int) -> tuple[Path, list[dict[str, str]]]:
    qa = json.loads((pg_dir() / "openai_vs_vertex" / "qa_pairs.json").read_text("utf-8"))
    return pg_dir() / "paul_graham_essays", qa[:n]


def _covid_set(folder: Path, n: int) -> list[dict[str, str]]:
    """Write the papers as text files; pick n questions spread over different papers."""
    data = json.loads(covid_file().read_text("utf-8"))["data"]
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for item in data:
        para = item["paragraphs"][0]
        name = f"paper-{para['document_id']}.txt"
        path = folder / name
        if not path.exists():
            path.write_text(para["context"], "utf-8")
        qas = [q for q in para["qas"] if q["answers"] and not q.get("is_impossible")]
        if qas:
            q = qas[0]
            out.append({"essay": name, "question": q["question"], "answer": q["answers"][0]["text"],
                        "quote": q["answers"][0]["text"]})  # fmt: skip
    step = max(1, len(out) // n)
    return out[::step][:n]


def _quality(
    session: Any, questions: list[dict[str, str]], k: int, answers: bool
) -> dict[str, Any]:
    from .chat import AskOptions

    found = 0
    covered = {"edge": 0, "rank": 0}
    for q in questions:
        hits = session.retrieve(q["question"], k)
        if any(
            Path(h.path).name == q["essay"] and coverage(q["quote"], h.text) >= 0.6 for h in hits
        ):
            found += 1
        if not answers:
            continue
        for mode, edge in (("edge", True), ("rank", False)):
            session.history.clear()
            session.generator.reset_cache()
            a = session.ask(q["question"], AskOptions(k=k, edge_ordering=edge, exhaustive=False))
            if coverage(q["answer"], a.text) >= 0.5:
                covered[mode] += 1
    n = len(questions)
    result: dict[str, Any] = {"questions": n, f"recall_at_{k}": round(found / n, 3)}
    if answers:
        result["answer_contains_gold_with_litm"] = round(covered["edge"] / n, 3)
        result["answer_contains_gold_without_litm"] = round(covered["rank"] / n, 3)
    return result


def _bare_call(gen: Any, tokens: list[int], max_tokens: int) -> tuple[float, float, int]:
    """TTFT, tokens/s and token count of a plain llama-cpp-python streaming completion."""
    llm = gen._llm
    s = gen.settings
    llm.reset()
    t0 = time.perf_counter()
    first = None
    n = 0
    for _ in llm.create_completion(
        prompt=tokens,
        max_tokens=max_tokens,
        temperature=s.temperature,
        top_k=s.top_k,
        top_p=s.top_p,
        min_p=s.min_p,
        repeat_penalty=s.repeat_penalty,
        stream=True,
    ):
        n += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    first = first or end
    return first - t0, (n - 1) / (end - first) if n > 1 and end > first else 0.0, n


def _speed(session: Any, questions: list[str], max_tokens: int) -> dict[str, Any]:
    from .chat import AskOptions

    folio_ttft, folio_tps, bare_ttft, bare_tps = [], [], [], []

    def folio_run(q: str) -> Any:
        session.history.clear()
        session.generator.reset_cache()
        first: list[float] = []
        t0 = time.perf_counter()
        a = session.ask(
            q,
            AskOptions(exhaustive=False, max_answer_tokens=max_tokens),
            on_token=lambda _p: first.append(time.perf_counter()) if not first else None,
        )
        folio_ttft.append((first[0] if first else time.perf_counter()) - t0)
        folio_tps.append(a.stats.tokens_per_s)
        return a

    for q in questions:
        a = folio_run(q)  # A
        tokens = list(a.plan.tokens)
        for _ in range(2):  # B B
            t, tps, _n = _bare_call(session.generator, tokens, max_tokens)
            bare_ttft.append(t)
            bare_tps.append(tps)
        folio_run(q)  # A
    med = statistics.median
    return {
        "questions": len(questions),
        "folio_ttft_s_median": round(med(folio_ttft), 3),
        "bare_ttft_s_median": round(med(bare_ttft), 3),
        "ttft_ratio_bare_over_folio": round(med(bare_ttft) / med(folio_ttft), 3),
        "folio_tokens_per_s_median": round(med(folio_tps), 2),
        "bare_tokens_per_s_median": round(med(bare_tps), 2),
        "tokens_per_s_ratio_folio_over_bare": round(med(folio_tps) / med(bare_tps), 3),
    }


def _kv_reuse(session: Any, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    from .chat import AskOptions

    opts = AskOptions(exhaustive=False, max_answer_tokens=96)
    warm, cold, cached = [], [], []
    for first_q, follow_q in pairs:
        session.history.clear()
        session.generator.reset_cache()
        session.ask(first_q, opts)
        after_first = list(session.history)
        a = session.ask(follow_q, opts)  # the first exchange is cached
        warm.append(a.stats.ttft_s)
        cached.append(a.stats.cached_tokens / max(1, a.stats.prompt_tokens))
        session.history = after_first
        session.generator.reset_cache()
        b = session.ask(follow_q, opts)  # identical prompt, nothing cached
        assert b.plan is not None and a.plan is not None and b.plan.tokens == a.plan.tokens
        cold.append(b.stats.ttft_s)
    med = statistics.median
    return {
        "pairs": len(pairs),
        "follow_up_ttft_s_with_reuse_median": round(med(warm), 3),
        "follow_up_ttft_s_without_reuse_median": round(med(cold), 3),
        "speedup": round(med(cold) / med(warm), 2),
        "share_of_prompt_reused_median": round(med(cached), 3),
    }


def bench_answer(
    home: Path | None = None,
    n_questions: int = 25,
    model: str | None = None,
    parts: frozenset[str] = frozenset({"speed", "kv", "quality"}),
) -> dict[str, Any]:
    from .chat import ChatSession
    from .generate import GenSettings, load_generator
    from .library import Library

    if not pg_dir().exists():
        raise SystemExit("The Paul Graham set is missing from ../shared/corpus.")
    tmp = tempfile.TemporaryDirectory(prefix="folio-bench-") if home is None else None
    home = Path(tmp.name) if tmp else home
    assert home is not None
    lib = Library(EngineConfig(home=home))
    gen = load_generator(model, GenSettings(temperature=0.0, max_answer_tokens=96))
    rss = RssSampler().__enter__()
    result: dict[str, Any] = {"model": gen.name, "n_ctx": gen.n_ctx}

    essays, pg_q = _pg_set(n_questions)
    pg = lib.get_or_create("bench-pg")
    pg.index([essays])
    session = ChatSession([pg], gen)
    if "speed" in parts:
        result["speed"] = _speed(session, [q["question"] for q in pg_q[:6]], 64)
    if "kv" in parts:
        pairs = [(pg_q[i]["question"], pg_q[i + 1]["question"]) for i in range(0, 10, 2)]
        result["kv_reuse"] = _kv_reuse(session, pairs)
    if "quality" in parts:
        result["paul_graham"] = _quality(session, pg_q, 6, answers=True)
        result["paul_graham"]["recall_at_6_all_55"] = _quality(session, _pg_set(55)[1], 6, False)[
            "recall_at_6"
        ]

    if covid_file().exists() and "quality" in parts:
        cq = _covid_set(home / "covid-papers", n_questions)
        covid = lib.get_or_create("bench-covid")
        covid.index([home / "covid-papers"])
        result["covid_qa"] = _quality(ChatSession([covid], gen), cq, 6, answers=True)
    rss.__exit__()
    result["peak_rss_mb"] = _mb(rss.peak_main)
    if tmp:
        tmp.cleanup()
    return result

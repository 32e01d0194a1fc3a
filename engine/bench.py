"""``folio bench``: speed and memory figures, each against a baseline measured in the same run.

- ``folio bench index [PATH...]``: end-to-end indexing throughput (parsing included) against a
  raw ``SentenceTransformer.encode(batch_size=32)`` of the same chunk texts; peak RSS (this
  process and its parse workers); re-index time of the unchanged folder and of an unchanged
  1,000-file folder; page-level recall@5 on the docugami 10-Q questions when those documents
  are indexed.
- ``folio bench pdf [PATH...]``: PDF reading CPU time with pypdf's own readers against Folio's
  faster readings of content streams and hex strings, on the same files in the same run; the
  page texts must be identical, and every page content stream is parsed both ways and compared.
- ``folio bench query``: query latency p50/p95 (query embedding included) at 1k, 10k and 100k
  chunks of synthetic vectors and text.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, cast

import numpy as np

from .config import EngineConfig
from .ingest.context import embedding_text
from .types import ChunkSpan

REPO = Path(__file__).resolve().parents[1]


def corpus_dir() -> Path:
    """The benchmark documents and question sets: ``--corpus`` / the ``FOLIO_CORPUS``
    variable, else ``../shared/corpus`` beside a source checkout."""
    env = os.environ.get("FOLIO_CORPUS")
    return Path(env).expanduser() if env else REPO.parent / "shared" / "corpus"


def docugami_dir() -> Path:
    """The docugami 10-Q set: 20 filings (``docs/``) and reviewed questions (``qna_data.csv``)."""
    return corpus_dir() / "qa" / "docugami_kg_rag" / "sec-10-q" / "data" / "v1"


class RssSampler:
    """Peak resident memory of this process, and of it plus its children, sampled in a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        import psutil

        self._proc = psutil.Process(os.getpid())
        self._interval = interval
        self._stop = threading.Event()
        self.peak_main = 0
        self.peak_tree = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                main = self._proc.memory_info().rss
                kids = 0
                for c in self._proc.children(recursive=True):
                    try:
                        kids += c.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak_main = max(self.peak_main, main)
                self.peak_tree = max(self.peak_tree, main + kids)
            except psutil.Error:
                pass
            self._stop.wait(self._interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _doc_label(path: str, profile: str) -> str:
    from .ingest.profile import document_label

    return document_label(path, profile)


def _mb(n: int) -> float:
    return round(n / 1024**2, 1)


def bench_index(
    paths: list[Path], home: Path | None = None, many_files: int = 1000
) -> dict[str, Any]:
    from .library import Library

    paths = paths or [docugami_dir() / "docs"]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = EngineConfig(home=home or Path(tmp) / "home")
        lib = Library(cfg)
        emb = lib.embedder  # loaded before any clock starts: both sides use the loaded model
        coll = lib.create("bench")
        with RssSampler() as rss:
            t0 = time.perf_counter()
            report = coll.index(paths)
            t_index = time.perf_counter() - t0
        n = coll.store.chunk_count()
        # The baselines encode exactly what Folio had the model encode: each distinct passage
        # text with its context header (a passage repeated in the run is embedded once), and
        # each document's label.
        texts = sorted(
            {
                embedding_text(r[0], r[1])
                for r in coll._local_store().db.execute("SELECT context, text FROM chunks")
            }
        )
        labels = [_doc_label(r[0], r[1]) for r in coll._local_store().doc_profiles_and_paths()]
        work = texts + labels
        model: Any = cast(Any, emb).model
        # 1. sentence-transformers as it comes: encode(), its default batch of 32, torch's
        #    default threads, float32.
        t0 = time.perf_counter()
        model.encode(work, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        t_raw = time.perf_counter() - t0
        # 2. Folio's own set-up (batches of cfg.embed_batch, cfg.embed_streams side by side,
        #    in the embedder's precision).
        t0 = time.perf_counter()
        emb.embed(work, cfg.embed_batch, streams=cfg.embed_streams)
        t_tuned = time.perf_counter() - t0
        # 3. encode() as it comes, but in Folio's precision (bfloat16 autocast where chosen).
        precision = getattr(emb, "precision", "float32")
        t_same = t_raw
        if precision == "bfloat16":
            import torch

            t0 = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                model.encode(
                    work, batch_size=32, normalize_embeddings=True, show_progress_bar=False
                )
            t_same = time.perf_counter() - t0

        t0 = time.perf_counter()
        again = coll.index(paths)
        t_reindex = time.perf_counter() - t0
        pages = (
            coll._local_store()
            .db.execute("SELECT coalesce(sum(n_pages), 0) FROM documents WHERE kind='pdf'")
            .fetchone()[0]
        )
        out: dict[str, Any] = {
            "documents_indexed": len(report.indexed),
            "documents_failed": len(report.failed),
            "pdf_pages": pages,
            "chunks": n,
            "index_seconds": round(t_index, 2),
            "index_chunks_per_s": round(n / t_index, 2) if t_index else 0,
            "texts_embedded": len(work),
            "chunks_reused": report.chunks_reused,
            "raw_encode_seconds": round(t_raw, 2),
            "ratio_vs_raw_encode": round(t_raw / t_index, 3) if t_index else 0,
            "raw_encode_folio_setup_seconds": round(t_tuned, 2),
            "ratio_vs_raw_encode_folio_setup": round(t_tuned / t_index, 3) if t_index else 0,
            "embed_precision": precision,
            "raw_encode_folio_precision_seconds": round(t_same, 2),
            "ratio_vs_raw_encode_folio_precision": round(t_same / t_index, 3) if t_index else 0,
            "embed_seconds": round(report.embed_seconds, 2),
            "embedder_waiting_for_parser_seconds": round(report.parse_wait_seconds, 2),
            "peak_rss_main_mb": _mb(rss.peak_main),
            "peak_rss_with_workers_mb": _mb(rss.peak_tree),
            "reindex_unchanged_seconds": round(t_reindex, 3),
            "reindex_embedded": again.chunks_embedded,
        }
        if any(Path(p).resolve() == (docugami_dir() / "docs").resolve() for p in paths):
            out["docugami_page_recall_at_5"] = docugami_recall(coll)
        coll.close()

        # An unchanged folder of many small files (1,000 by default).
        many = Path(tmp) / "many"
        many.mkdir()
        for i in range(many_files):
            (many / f"note-{i:04d}.txt").write_text(
                f"Note {i}. Meeting minutes about topic {i % 37} and budget line {i}.", "utf-8"
            )
        c2 = lib.create("thousand")
        c2.index([many])
        t0 = time.perf_counter()
        r2 = c2.index([many])
        out[f"reindex_{many_files}_files_seconds"] = round(time.perf_counter() - t0, 3)
        out[f"reindex_{many_files}_files_embedded"] = r2.chunks_embedded
        c2.close()
    return out


def docugami_recall(
    coll: Any, k: int = 5, options: Any = None, questions: Path | None = None
) -> dict[str, Any]:
    """Document and page recall@k and MRR on the docugami 10-Q questions (``folio eval``).

    The data set names each question's source document but not the page, so an answer's
    pages are those of its document holding the most of the figures quoted in the reviewed
    answer (evaluate.answer_pages); questions whose answer quotes no figure count for the
    document figures only. "single" is the single-document questions, "all" adds the
    multi-document ones.
    """
    from .evaluate import EvalReport, load_questions

    qfile = questions or docugami_dir() / "qna_data.csv"
    if not qfile.exists():
        return {"skipped": f"questions not found at {qfile}"}
    qs, _problems = load_questions(qfile)
    rows = list(csv.DictReader(qfile.open(encoding="utf-8-sig")))
    kinds = {" ".join(r.get("Question", "").split()): r.get("Question Type", "") for r in rows}
    report = coll.evaluate(qs, k=k, options=options)
    single = [r for r in report.results if kinds.get(r.question, "").startswith("Single")]
    return {
        "single": EvalReport(k, single).summary(),
        "all": report.summary(),
    }


def bench_query(sizes: list[int], queries: int = 200) -> dict[str, Any]:
    from .library import Library

    rng = np.random.default_rng(7)
    words, questions = _text_pool()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library(EngineConfig(home=Path(tmp) / "home"))
        emb = lib.embedder
        qtexts = [questions[i % len(questions)] for i in range(queries)]
        for n in sizes:
            coll = lib.create(f"synthetic-{n}")
            coll.ann()  # records the embedding model
            t0 = time.perf_counter()
            per_doc = 100
            for d in range(0, n, per_doc):
                m = min(per_doc, n - d)
                chunks = []
                for _ in range(m):
                    # 60 consecutive words of real prose from a random place.
                    at = int(rng.integers(0, max(1, len(words) - 60)))
                    text = " ".join(words[at : at + 60])
                    chunks.append(ChunkSpan(1, 0, len(text), text, 80))
                vecs = rng.standard_normal((m, emb.dim)).astype(np.float32)
                vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
                coll.store.begin()
                coll.store.put_indexed(
                    f"/synthetic/doc-{d}.txt", 0, 0, f"sha-{d}", "text", 1, [], chunks, vecs
                )
                coll.store.commit()
            coll._ann = None
            ann = coll.ann()
            build = time.perf_counter() - t0
            for q in qtexts[:10]:  # warm-up
                coll.search(q, k=5)
            lat = []
            for q in qtexts:
                t0 = time.perf_counter()
                coll.search(q, k=5)
                lat.append((time.perf_counter() - t0) * 1000)
            # The same queries' embedding alone, to show what the index adds.
            emb_lat = []
            for q in qtexts:
                t0 = time.perf_counter()
                emb.embed_query(q)
                emb_lat.append((time.perf_counter() - t0) * 1000)
            out[str(n)] = {
                "chunks": len(ann),
                "build_seconds": round(build, 1),
                "p50_ms": round(statistics.median(lat), 2),
                "p95_ms": round(float(np.percentile(lat, 95)), 2),
                "embed_only_p50_ms": round(statistics.median(emb_lat), 2),
            }
            coll.close()
            lib.delete(f"synthetic-{n}")
    return out


def _text_pool() -> tuple[list[str], list[str]]:
    """Real prose (Paul Graham essays, COVID-QA papers) and real questions about it.

    Synthetic chunks are windows of this prose, so keyword statistics look like real text;
    without the corpus, a random vocabulary and random questions stand in.
    """
    words: list[str] = []
    questions: list[str] = []
    pg = corpus_dir() / "qa" / "tonic_validate_paul_graham"
    for p in sorted((pg / "paul_graham_essays").glob("*.txt")):
        words.extend(p.read_text("utf-8", errors="replace").split())
    qa = pg / "openai_vs_vertex" / "qa_pairs.json"
    if qa.exists():
        questions.extend(item["question"] for item in json.loads(qa.read_text("utf-8")))
    covid = corpus_dir() / "qa" / "covid_qa" / "200423_covidQA.json"
    if covid.exists():
        data = json.loads(covid.read_text("utf-8"))
        for article in data["data"]:
            for para in article["paragraphs"]:
                words.extend(para["context"].split())
                questions.extend(q["question"] for q in para["qas"][:2])
    if len(words) < 10_000 or not questions:
        rng = np.random.default_rng(3)
        vocab = [f"word{i}" for i in range(5000)]
        words = list(rng.choice(vocab, size=200_000))
        questions = [" ".join(rng.choice(vocab, size=6)) + "?" for _ in range(200)]
    return words, questions


def covid_qa_pairs(n: int) -> list[tuple[str, str]]:
    """(question, answer) pairs from the COVID-QA set of the corpus (benchmarks only)."""
    path = corpus_dir() / "qa" / "covid_qa" / "200423_covidQA.json"
    if not path.is_file():
        from .errors import FolioError

        raise FolioError(f"The COVID-QA data set is not at {path}; give a pairs file instead.")
    pairs: list[tuple[str, str]] = []
    for paper in json.loads(path.read_text("utf-8"))["data"]:
        for qa in paper["paragraphs"][0]["qas"]:
            if qa["answers"] and len(pairs) < n:
                pairs.append((qa["question"].strip(), qa["answers"][0]["text"].strip()))
    return pairs


def bench_tune(
    pairs_file: Path | None, n_pairs: int, epochs: int, model: str | None
) -> dict[str, object]:
    """Instruction tuning of the chat model on ``n_pairs`` pairs: seconds per step, peak
    memory of the training process, total time, and the before/after evaluation."""
    from .generate import default_model_path
    from .tune.job import TuneJob
    from .tune.train import TuneSettings, TuneSpec

    with tempfile.TemporaryDirectory() as tmp:
        if pairs_file is None:
            pairs_file = Path(tmp) / "pairs.jsonl"
            with pairs_file.open("w", encoding="utf-8") as f:
                for q, a in covid_qa_pairs(n_pairs):
                    f.write(json.dumps({"prompt": q, "response": a}) + "\n")
        spec = TuneSpec(
            kind="ift",
            base=str(Path(model) if model else default_model_path()),
            out=str(Path(tmp) / "bench.gguf"),
            data=[str(pairs_file)],
            settings=TuneSettings(epochs=epochs),
        )
        t0 = time.perf_counter()
        result = TuneJob("ift", spec).run()
        wall = time.perf_counter() - t0
    return {
        "pairs_trained": result["examples"],
        "held_out": result["held_out"],
        "epochs": epochs,
        "steps": result["steps"],
        "seconds_per_step": round(result["seconds_per_step"], 2),
        "train_seconds": round(result["seconds_per_step"] * result["steps"], 1),
        "total_seconds_incl_load_and_eval": round(wall, 1),
        "peak_rss_training_process_mb": round(result["peak_rss_mb"]),
        "evaluation": result["evaluation"],
        "first_loss": round(result["losses"][0], 3),
        "last_loss": round(result["losses"][-1], 3),
    }


def bench_pdf(paths: list[Path]) -> dict[str, Any]:
    """Folio's PDF reading against pypdf as it ships (see ``engine.ingest._pypdf_speed``)."""
    from pypdf import PdfReader

    from .errors import ReaderError
    from .ingest import _pypdf_speed
    from .ingest.pdf import read_pdf

    files = sorted(
        f
        for p in (paths or [docugami_dir() / "docs"])
        for f in ([p] if p.is_file() else p.rglob("*"))
        if f.is_file() and f.read_bytes()[:1024].find(b"%PDF") >= 0
    )

    def read(data: bytes) -> tuple[float, Any]:
        start = time.process_time()
        try:
            doc = read_pdf(data)
            outcome: Any = [(s.page, s.text, s.flags) for s in doc.sections]
        except ReaderError as exc:
            outcome = ("failed", str(exc))
        return time.process_time() - start, outcome

    cpu_ours = cpu_pypdf = 0.0
    pages = streams = streams_fast = streams_differing = 0
    differing_names: list[str] = []
    for f in files:
        data = f.read_bytes()
        with _pypdf_speed.pypdf_as_shipped():
            t_pypdf, theirs = read(data)
        t_ours, ours = read(data)
        cpu_pypdf += t_pypdf
        cpu_ours += t_ours
        if ours != theirs:
            differing_names.append(str(f))
        pages += len(ours) if isinstance(ours, list) else 0
        try:
            contents = [page.get_contents() for page in PdfReader(f, strict=False).pages]
        except Exception:  # a file pypdf cannot open has no streams to compare
            continue
        for c in contents:
            if c is None:
                continue
            streams += 1
            fast, same = _pypdf_speed.compare_content_stream(c.get_data(), c.forced_encoding)
            streams_fast += fast
            streams_differing += not same
    return {
        "files": len(files),
        "pages": pages,
        "pypdf_cpu_seconds": round(cpu_pypdf, 2),
        "folio_cpu_seconds": round(cpu_ours, 2),
        "cpu_ratio_folio_vs_pypdf": round(cpu_ours / cpu_pypdf, 3) if cpu_pypdf else 0,
        "pages_per_cpu_s_pypdf": round(pages / cpu_pypdf, 1) if cpu_pypdf else 0,
        "pages_per_cpu_s_folio": round(pages / cpu_ours, 1) if cpu_ours else 0,
        "documents_with_different_text": len(differing_names),
        "documents_with_different_text_names": differing_names[:20],
        "content_streams": streams,
        "content_streams_read_by_folio": streams_fast,
        "content_streams_different": streams_differing,
    }


def run_bench(args: argparse.Namespace) -> int:
    if getattr(args, "corpus", None):
        os.environ["FOLIO_CORPUS"] = str(Path(args.corpus).expanduser())
    if args.what == "retrieval":
        from .bench_retrieval import bench_retrieval

        result = bench_retrieval(
            [Path(p) for p in args.paths],
            Path(args.home).expanduser() if args.home else None,
            Path(args.eval_questions).expanduser() if args.eval_questions else None,
            headers=args.headers,
            scale=args.scale,
        )
    elif args.what == "index":
        result = bench_index([Path(p) for p in args.paths])
    elif args.what == "pdf":
        result = bench_pdf([Path(p) for p in args.paths])
    elif args.what == "gui":
        import subprocess
        import sys

        # The window's figures come from the desktop package, in its own process: the engine
        # never imports Qt.
        return subprocess.call([sys.executable, "-m", "desktop.bench"], cwd=REPO)
    elif args.what == "tune":
        result = bench_tune(
            Path(args.paths[0]) if args.paths else None, args.pairs, args.epochs, args.model
        )
    elif args.what == "citations":
        from .bench_citations import bench_citations

        result = bench_citations(seed=args.seed, per_source=args.per_source)
    elif args.what == "quotes":
        from .bench_quotes import bench_quotes

        result = bench_quotes(args.questions, args.model)
    elif args.what == "soak":
        import subprocess
        import sys

        # The window in its own process (the engine never imports Qt).
        cmd = [sys.executable, "-m", "desktop.soak", "--minutes", str(args.minutes)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        if args.out:
            cmd += ["--out", args.out]
        return subprocess.call(cmd, cwd=REPO)
    elif args.what == "pgscale":
        from .bench_pgscale import bench_pgscale

        sizes = [int(x) for x in args.passages.split(",") if x]
        from .index.pgstore import HNSW_EF_CONSTRUCTION, HNSW_M

        hnsw = (args.hnsw_m or HNSW_M, args.hnsw_ef_construction or HNSW_EF_CONSTRUCTION)
        result = bench_pgscale(sizes, args.dsn, args.runs, hnsw=hnsw, local=not args.no_local)
    elif args.what == "stop":
        from .bench_stop import bench_stop

        lengths = [int(s) for s in (args.lengths or "3000,8000").split(",") if s]
        model = Path(args.model) if args.model else None
        result = bench_stop(lengths, args.trials, model, threads=args.threads or None)
    elif args.what == "answer":
        from .bench_answer import bench_answer

        home = Path(args.home).expanduser() if args.home else None
        parts = frozenset(x for x in args.parts.split(",") if x)
        result = bench_answer(home, args.questions, args.model, parts)
    else:
        result = bench_query([int(s) for s in args.sizes.split(",") if s])
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", "utf-8")
    return 0

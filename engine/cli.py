"""The ``folio`` command. Output for people by default; ``--json`` gives stable shapes (README)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .offline import go_offline

go_offline()

from .config import EngineConfig  # noqa: E402
from .errors import FolioError  # noqa: E402
from .progress import CancelToken  # noqa: E402
from .types import DocumentGroup, Hit, IndexReport, Progress  # noqa: E402


def _library(args: argparse.Namespace) -> Any:
    from .library import Library

    cfg = EngineConfig()
    if args.home:
        cfg.home = Path(args.home).expanduser()
    if args.embed_model:
        cfg.embed_model = Path(args.embed_model).expanduser()
    if getattr(args, "workers", None):
        cfg.parse_workers = args.workers
    return Library(cfg)


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


class _Bar:
    """A one-line progress bar on a terminal's stderr; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2 and p.stage != "done":
            return
        self._last = now
        width = 30
        frac = p.files_done / p.files_total if p.files_total else 0.0
        bar = "#" * int(frac * width)
        eta = f" ETA {int(p.eta_seconds)}s" if p.eta_seconds else ""
        line = (
            f"\r{p.stage:<9} [{bar:<{width}}] {p.files_done}/{p.files_total} files, "
            f"{p.chunks_embedded} chunks{eta}"
        )
        sys.stderr.write(line[:120].ljust(100))
        if p.stage == "done":
            sys.stderr.write("\n")
        sys.stderr.flush()


def hit_json(h: Hit) -> dict[str, object]:
    return {
        "collection": h.collection,
        "document": h.path,
        "page": h.page,
        "start": h.start,
        "end": h.end,
        "score": round(h.score, 6),
        "text": h.text,
    }


def group_json(g: DocumentGroup) -> dict[str, object]:
    return {
        "document": g.path,
        "score": round(g.score, 6),
        "passages": [hit_json(h) for h in g.hits],
    }


def cmd_collections(args: argparse.Namespace) -> int:
    lib = _library(args)
    if args.action == "create":
        c = lib.create(args.name)
        c.close()
        print(f"Created collection '{args.name}'.")
    elif args.action == "delete":
        lib.delete(args.name)
        print(f"Deleted collection '{args.name}' (your files were not touched).")
    elif args.action == "rename":
        lib.rename(args.name, args.new_name)
        print(f"Renamed '{args.name}' to '{args.new_name}'.")
    else:
        infos = lib.infos()
        if args.json:
            _print_json(
                [
                    {
                        "name": i.name,
                        "documents": i.documents,
                        "chunks": i.chunks,
                        "failed": i.failed,
                        "embed_model": i.embed_model,
                        "embed_fingerprint": i.embed_fingerprint,
                    }
                    for i in infos
                ]
            )
        elif not infos:
            print("No collections yet. Create one with: folio collections create NAME")
        else:
            for i in infos:
                print(f"{i.name}: {i.documents} documents, {i.chunks} chunks, {i.failed} failed")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    lib = _library(args)
    coll = lib.get_or_create(args.collection)
    cancel = CancelToken()
    try:
        report: IndexReport = coll.index([Path(p) for p in args.paths], _Bar(), cancel)
    except KeyboardInterrupt:
        cancel.cancel()
        print("\nStopped. What was indexed so far is kept.", file=sys.stderr)
        return 130
    finally:
        coll.close()
    if args.json:
        _print_json(report.to_json())
    else:
        print(
            f"Indexed {len(report.indexed)}, unchanged {len(report.unchanged)}, "
            f"moved {len(report.moved)}, removed {len(report.removed)}, "
            f"failed {len(report.failed)}; {report.chunks_embedded} chunks embedded "
            f"in {report.seconds:.1f} s."
        )
        for f in report.failed:
            print(f"  failed: {f.path}: {f.reason}")
    return 130 if report.cancelled else 0


def cmd_search(args: argparse.Namespace) -> int:
    lib = _library(args)
    with lib.open(args.collection) as coll:
        if args.all:
            groups = coll.search_all(args.query)
            if args.json:
                _print_json(
                    {
                        "query": args.query,
                        "mode": "all",
                        "documents": [group_json(g) for g in groups],
                    }
                )
            else:
                print(f"{len(groups)} documents about '{args.query}':")
                for g in groups:
                    best = g.hits[0]
                    print(f"- {g.path} (page {best.page}, score {g.score:.2f})")
                    print(f"    {best.snippet(160)}")
            return 0
        hits = coll.search(args.query, k=args.k)
        if args.json:
            _print_json({"query": args.query, "mode": "top_k", "hits": [hit_json(h) for h in hits]})
        else:
            for n, h in enumerate(hits, start=1):
                print(f"[{n}] {h.name}, page {h.page} (score {h.score:.3f})")
                print(f"    {h.snippet(200)}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    lib = _library(args)
    with lib.open(args.collection) as coll:
        info = coll.info()
        docs = coll.documents()
        failures = [{"document": d.path, "reason": d.reason} for d in docs if d.status == "failed"]
        data = {
            "collection": info.name,
            "documents": info.documents,
            "chunks": info.chunks,
            "failed": info.failed,
            "folders": coll.roots(),
            "embed_model": info.embed_model,
            "embed_fingerprint": info.embed_fingerprint,
            "failures": failures,
        }
        if args.json:
            data["document_list"] = [
                {
                    "document": d.path,
                    "status": d.status,
                    "kind": d.kind,
                    "pages": d.n_pages,
                    "chunks": d.n_chunks,
                    "warnings": list(d.warnings),
                }
                for d in docs
                if d.status == "indexed"
            ]
            _print_json(data)
        else:
            print(f"Collection '{info.name}': {info.documents} documents, {info.chunks} chunks.")
            print(f"Embedding model: {info.embed_model or '(not set yet)'}")
            for r in coll.roots():
                print(f"  folder: {r}")
            if failures:
                print(f"{len(failures)} files could not be indexed:")
                for f in failures:
                    print(f"  {f['document']}: {f['reason']}")
    return 0


def cmd_reembed(args: argparse.Namespace) -> int:
    lib = _library(args)
    with lib.open(args.collection) as coll:
        n = coll.reembed()
    print(f"Re-embedded {n} chunks of '{args.collection}' with {lib.embedder.name}.")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    """Start the desktop app as its own program (the engine never imports the desktop code)."""
    import importlib.util
    import subprocess

    if importlib.util.find_spec("desktop") is None:
        print("The desktop app is not installed.", file=sys.stderr)
        return 1
    env = dict(os.environ)
    if args.home:
        env["FOLIO_HOME"] = str(Path(args.home).expanduser())
    return subprocess.call([sys.executable, "-m", "desktop.app"], env=env)


def _gen_settings(args: argparse.Namespace) -> Any:
    from .generate import GenSettings

    gs = GenSettings()
    for name in ("n_ctx", "threads", "gpu_layers", "temperature", "ttft_cap_s"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(gs, name, value)
    if getattr(args, "max_tokens", None):
        gs.max_answer_tokens = args.max_tokens
    return gs


def cmd_ask(args: argparse.Namespace) -> int:
    from .chat import AskOptions, ChatSession
    from .generate import load_generator
    from .history import ChatStore

    lib = _library(args)
    collections = [lib.open(name) for name in args.collection]
    generator = load_generator(args.model, _gen_settings(args))
    store = ChatStore(lib.home)
    session = ChatSession(collections, generator, store, args.session)
    opts = AskOptions(
        k=args.k,
        preset=args.preset,
        edge_ordering=not args.no_edge_order,
        exhaustive=True if args.all else None,
        summarise_each=args.summaries,
    )
    stream = not args.json
    if stream:
        # Evidence first: where the answer will come from, before the model says a word.
        def on_evidence(ev: Any) -> None:
            if ev.mode == "answer":
                print(f"Searching {len(ev.hits)} passage(s) ...", file=sys.stderr, flush=True)

        def on_token(piece: str) -> None:
            sys.stdout.write(piece)
            sys.stdout.flush()

    answer = session.ask(
        args.question,
        opts,
        cancel=CancelToken(),
        on_evidence=on_evidence if stream else None,
        on_token=on_token if stream else None,
    )
    store.close()
    if args.json:
        _print_json(answer.to_json())
        return 0
    print("\n")
    for note in answer.notices:
        print(f"Note: {note}")
    if answer.mode == "answer":
        marks = {c.number: c.status for c in answer.citations}
        print("Sources:")
        for src in sorted(answer.included, key=lambda x: x.number):
            status = marks.get(src.number, "not cited")
            coll = f" [{src.hit.collection}]" if len(collections) > 1 else ""
            print(f"  [{src.number}] {src.hit.path}, {src.hit.location}{coll} — {status}")
        for c in answer.cut:
            print(f"  (left out) {c.hit.path}, {c.hit.location}: {c.reason}")
        st = answer.stats
        print(
            f"{st.prompt_tokens} prompt tokens ({st.cached_tokens} reused), first token after "
            f"{st.ttft_s:.2f} s, {st.tokens_per_s:.1f} tokens/s"
        )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .generate import add_model, discover_models

    lib = _library(args)
    if args.action == "add":
        if not args.path:
            raise FolioError("'folio models add' needs the path of a .gguf file.")
        info = add_model(lib.home, Path(args.path))
        print(f"Added {info.name} ({info.quantization}, context {info.context_length})")
        return 0
    models, problems = discover_models(lib.home)
    if args.json:
        _print_json({"models": [m.to_json() for m in models], "problems": problems})
        return 0
    for m in models:
        size = m.size_bytes / 1024**2
        ctx = m.context_length
        print(f"{m.name}  [{m.source}]  {m.quantization}, {size:.0f} MB, context {ctx}")
        print(f"    {m.path}")
    for line in problems:
        print(f"skipped: {line}", file=sys.stderr)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    return run_bench(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="folio", description="Chat with your documents, offline.")
    p.add_argument(
        "--home",
        help="folder for all of Folio's files (default: FOLIO_HOME or the "
        "platform's user data folder)",
    )
    p.add_argument("--embed-model", help="a sentence-transformers model folder to embed with")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("collections", help="create, list, rename or delete collections")
    c.add_argument("action", choices=["create", "list", "delete", "rename"])
    c.add_argument("name", nargs="?")
    c.add_argument("new_name", nargs="?")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_collections)

    i = sub.add_parser("index", help="index files and folders into a collection")
    i.add_argument("paths", nargs="+")
    i.add_argument("--collection", "-c", required=True)
    i.add_argument("--workers", type=int, help="parser processes (default: cores - 1)")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_index)

    s = sub.add_parser("search", help="search a collection")
    s.add_argument("query")
    s.add_argument("--collection", "-c", required=True)
    s.add_argument("--k", type=int, default=5)
    s.add_argument("--all", action="store_true", help="every relevant document, not just top k")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_search)

    st = sub.add_parser("status", help="documents, chunks and failures of a collection")
    st.add_argument("--collection", "-c", required=True)
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)

    r = sub.add_parser("reembed", help="re-embed a collection with the current embedding model")
    r.add_argument("--collection", "-c", required=True)
    r.set_defaults(func=cmd_reembed)

    a = sub.add_parser("ask", help="ask a question; the answer cites its sources")
    a.add_argument("question")
    a.add_argument(
        "--collection", "-c", action="append", required=True, help="repeat to ask several"
    )
    a.add_argument("--model", help="a .gguf model file (default: the bundled SmolLM2-135M)")
    a.add_argument("--preset", default="answer", help="answer | summarise | extract | yours")
    a.add_argument("--all", action="store_true", help="list every document about the topic")
    a.add_argument("--summaries", action="store_true", help="with --all: one line per document")
    a.add_argument("--k", type=int, default=6, help="passages to retrieve")
    a.add_argument("--session", type=int, help="continue this chat (see its session_id)")
    a.add_argument("--n-ctx", dest="n_ctx", type=int, help="context window in tokens")
    a.add_argument("--max-tokens", dest="max_tokens", type=int, help="longest answer in tokens")
    a.add_argument("--temperature", type=float)
    a.add_argument("--threads", type=int)
    a.add_argument("--gpu-layers", dest="gpu_layers", type=int, help="-1 = auto")
    a.add_argument("--ttft-cap", dest="ttft_cap_s", type=float, help="seconds to first token")
    a.add_argument("--no-edge-order", action="store_true", help="sources in rank order")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_ask)

    m = sub.add_parser("models", help="list GGUF models on this computer, or add one")
    m.add_argument("action", nargs="?", choices=["list", "add"], default="list")
    m.add_argument("path", nargs="?")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_models)

    g = sub.add_parser("gui", help="start the desktop app")
    g.set_defaults(func=cmd_gui)

    b = sub.add_parser("bench", help="measure indexing, query and answer speed and quality")
    b.add_argument("what", choices=["index", "query", "answer", "gui"])
    b.add_argument("paths", nargs="*")
    b.add_argument("--out", help="write the figures as JSON here")
    b.add_argument("--sizes", default="1000,10000,100000")
    b.add_argument("--questions", type=int, default=25, help="answer: questions per data set")
    b.add_argument("--model", help="answer: a .gguf model (default: the bundled one)")
    b.add_argument("--parts", default="speed,kv,quality", help="answer: which figures")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    needs_name = args.command == "collections" and args.action in ("create", "delete", "rename")
    if needs_name and (not args.name or (args.action == "rename" and not args.new_name)):
        parser.error(f"'collections {args.action}' needs a name")
    try:
        return int(args.func(args))
    except FolioError as e:
        print(f"folio: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        return 0


if __name__ == "__main__":
    sys.exit(main())

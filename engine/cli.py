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
from .private import make_home_private, private_process  # noqa: E402
from .progress import CancelToken, TimeLeft  # noqa: E402
from .types import DocumentGroup, Hit, IndexReport, Progress  # noqa: E402


def _library(args: argparse.Namespace) -> Any:
    from .library import Library

    cfg = EngineConfig(program="the 'folio' command")
    if args.home:
        cfg.home = Path(args.home).expanduser()
    if args.embed_model:
        cfg.embed_model = Path(args.embed_model).expanduser()
    if getattr(args, "workers", None):
        cfg.parse_workers = args.workers
    if getattr(args, "no_ocr", False):
        cfg.ocr = False
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
        if p.stage == "waiting":  # another program is writing: said on every stderr, once
            print(f"folio: {p.current}", file=sys.stderr, flush=True)
            return
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
        detail = f", {p.detail}" if p.detail else ""
        line = (
            f"\r{p.stage:<9} [{bar:<{width}}] {p.files_done}/{p.files_total} files, "
            f"{p.chunks_embedded} chunks{eta}{detail}"
        )
        sys.stderr.write(line[:120].ljust(100))
        if p.stage == "done":
            sys.stderr.write("\n")
        sys.stderr.flush()


class _LoadLine:
    """ "Preparing the model: 45 % ETA 12s" on a terminal's stderr while a model loads, gone
    when it is loaded; silent when stderr is not a terminal. Use it as a context manager: it
    writes to its own copy of the terminal, because llama-cpp-python points stderr at
    /dev/null while llama.cpp loads."""

    WIDTH = 60

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._left = TimeLeft()
        self._out: Any = None

    def __enter__(self) -> _LoadLine:
        if self.enabled:
            try:
                self._out = os.fdopen(os.dup(sys.stderr.fileno()), "w", encoding="utf-8")
            except (OSError, ValueError, AttributeError):  # no real stderr: say nothing
                self.enabled = False
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def __call__(self, fraction: float, stage: str) -> None:
        out = self._out
        if not self.enabled or out is None:
            return
        if fraction >= 1.0:  # loaded: the line makes room for the answer
            out.write("\r" + " " * self.WIDTH + "\r")
        else:
            left = self._left.update(fraction)
            eta = f" ETA {int(left)}s" if left is not None and left >= 1 else ""
            out.write(f"\r{stage}: {int(fraction * 100)} %{eta}".ljust(self.WIDTH))
        out.flush()


def hit_json(h: Hit) -> dict[str, object]:
    return {
        "collection": h.collection,
        "document": h.path,
        "page": h.page,
        "start": h.start,
        "end": h.end,
        "score": round(h.score, 6),
        "text": h.text,
        "context": h.context,
        "unavailable": h.unavailable,
        # The page was read by OCR (a scan or a picture); its location says so.
        "ocr": h.ocr,
        "location": h.location,
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
        n_chats = lib.chats_of(args.name)
        delete_chats = args.delete_chats
        if n_chats and not (args.delete_chats or args.keep_chats):
            if not sys.stdin.isatty():
                raise FolioError(
                    f"'{args.name}' has {n_chats} chat(s). Say what happens to them: add "
                    "--delete-chats to delete them too, or --keep-chats to keep them."
                )
            reply = input(f"'{args.name}' has {n_chats} chat(s). Delete them too? [y/N] ")
            delete_chats = reply.strip().lower() in ("y", "yes")
        gone = lib.delete(args.name, delete_chats=delete_chats)
        kept = n_chats - gone
        chats = f" and its {gone} chat(s)" if gone else ""
        after = f"; its {kept} chat(s) are kept (folio chats list)" if kept else ""
        print(f"Deleted collection '{args.name}'{chats} (your files were not touched){after}.")
    elif args.action == "rename":
        lib.rename(args.name, args.new_name)
        print(f"Renamed '{args.name}' to '{args.new_name}'.")
    elif args.action == "remove-folder":
        folder = os.path.abspath(Path(args.new_name).expanduser())
        with lib.open(args.name) as coll:
            if folder not in coll.roots():
                known = "\n  ".join(coll.roots()) or "(none)"
                raise FolioError(
                    f"'{folder}' is not a folder of '{args.name}'. Its folders are:\n  {known}"
                )
            n = coll.remove_root(Path(folder))
        print(
            f"Removed '{folder}' from '{args.name}': {n} document(s) left the collection "
            "(your files were not touched)."
        )
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


def cmd_chats(args: argparse.Namespace) -> int:
    """folio chats list [--collection C] | folio chats delete ID"""
    lib = _library(args)
    store = lib.chat_store()
    try:
        if args.action == "delete":
            if args.id is None:
                raise FolioError("Give the number of the chat to delete (see: folio chats list).")
            title = store.session(args.id).title
            store.delete_session(args.id)
            print(f"Deleted chat {args.id} ('{title}').")
            return 0
        wanted = lib.id_of(args.collection) if args.collection else None
        sessions = store.sessions(collection_id=wanted) if wanted else store.sessions()
    finally:
        store.close()
    current = {cid: name for name, cid in lib.ids().items() if cid}

    def shown(s: Any) -> list[str]:
        out = []
        for i, name in enumerate(s.collections):
            cid = s.collection_ids[i] if i < len(s.collection_ids) else ""
            out.append(current.get(cid) or f"{name} (deleted)")
        return out

    if args.json:
        _print_json(
            [
                {
                    "id": s.id,
                    "title": s.title,
                    "collections": shown(s),
                    "collection_ids": list(s.collection_ids),
                    "turns": s.turns,
                    "created": s.created,
                    "updated": s.updated,
                }
                for s in sessions
            ]
        )
    elif not sessions:
        print("No chats yet.")
    else:
        for s in sessions:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.updated))
            names = ", ".join(shown(s)) or "no collection"
            print(f"{s.id:>5}  {when}  {s.title}  [{names}]  {s.turns} question(s)")
    return 0


_STORE_HELP = (
    "a PostgreSQL server holding the collection, shared by a team "
    "(postgresql://user@server/database); default: this computer's own collections"
)


def _shared_store(name: str) -> str:
    """The PostgreSQL address the organisation's settings file gives for collection ``name``
    ("shared_store", for the collections listed in "shared_collections"), else ''."""
    from .shared_list import shared_source
    from .system_settings import load_system_settings

    source, _problem = shared_source(load_system_settings().values)
    listed = source is not None and name.casefold() in {n.casefold() for n in source.names}
    return source.dsn if source is not None and listed else ""


def _open(lib: Any, args: argparse.Namespace, create: bool = False) -> Any:
    """The collection named by --collection: shared from a PostgreSQL server when --store
    names one (made there when indexing) or the organisation's settings file lists it as
    shared (opened read-only), else the one in Folio's home folder."""
    store = getattr(args, "store", None)
    if not store and not create:
        shared = _shared_store(args.collection)
        if shared:
            return lib.open_shared(shared, args.collection, read_only=True)
    if store:
        if not store.startswith(("postgresql://", "postgres://")):
            raise FolioError(
                "--store takes the address of a PostgreSQL server, such as "
                "postgresql://folio_indexer@server/folio."
            )
        return lib.open_shared(store, args.collection, create=create)
    return lib.get_or_create(args.collection) if create else lib.open(args.collection)


def cmd_index(args: argparse.Namespace) -> int:
    lib = _library(args)
    coll = _open(lib, args, create=True)
    cancel = CancelToken()
    try:
        paths = [Path(p) for p in args.paths] or None
        report: IndexReport = coll.index(paths, _Bar(), cancel)
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
        for f in report.unavailable:
            print(f"  not reachable now: {f.path}: {f.reason}")
    return 130 if report.cancelled else 0


def cmd_search(args: argparse.Namespace) -> int:
    lib = _library(args)
    with _open(lib, args) as coll:
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
                away = " — file not reachable now" if h.unavailable else ""
                scan = ", read by OCR" if h.ocr else ""
                print(f"[{n}] {h.name}, page {h.page}{scan} (score {h.score:.3f}){away}")
                print(f"    {h.snippet(200)}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    lib = _library(args)
    if args.check:
        return _check(lib, args)
    with _open(lib, args) as coll:
        info = coll.info()
        docs = coll.documents()
        failures = [{"document": d.path, "reason": d.reason} for d in docs if d.status == "failed"]
        away = [{"document": d.path, "reason": d.unavailable} for d in docs if d.unavailable]
        data = {
            "collection": info.name,
            "documents": info.documents,
            "chunks": info.chunks,
            "failed": info.failed,
            "folders": coll.roots(),
            "embed_model": info.embed_model,
            "embed_fingerprint": info.embed_fingerprint,
            "failures": failures,
            "unavailable": away,
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
                    "unavailable": d.unavailable,
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
            if away:
                print(f"{len(away)} documents are kept but their files cannot be reached now:")
                for f in away:
                    print(f"  {f['document']}: {f['reason']}")
    return 0


def _check(lib: Any, args: argparse.Namespace) -> int:
    """folio status --check: 0 when the collection is consistent, 1 when something is not."""
    with _open(lib, args) as coll:
        found = coll.check()
        name = coll.name
    if args.json:
        _print_json({"collection": name, **found.to_json()})
        return 0 if found.ok else 1
    print(f"Collection '{name}': {found.documents} documents, {found.chunks} passages.")
    if found.not_reachable:
        print(
            f"{len(found.not_reachable)} documents are kept while their folder cannot be "
            "reached (not a fault)."
        )
    problems = found.lines()
    if not problems:
        print(
            "Consistent: every document's file is there, and every passage has its vector "
            "and keywords."
        )
        return 0
    print(f"{len(problems)} problem(s) found:")
    for line in problems:
        print(f"  {line}")
    print(
        f'Index the collection again (folio index --collection "{name}" with no folder, or '
        "reopen Folio) to bring it in line; your files are not touched."
    )
    return 1


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import format_report, load_questions

    questions, problems = load_questions(Path(args.questions).expanduser())
    lib = _library(args)
    bar = _Bar()
    with lib.open(args.collection) as coll:
        if coll.index_outdated:
            print(f"folio: {coll.outdated_notice}", file=sys.stderr)

        def tick(done: int, total: int) -> None:
            bar(Progress("asking", done, total))

        report = coll.evaluate(questions, k=args.k, progress=tick)
    report.problems = problems
    if args.json:
        _print_json(report.to_json())
    else:
        print(format_report(report, misses=args.misses))
    return 0


def cmd_reembed(args: argparse.Namespace) -> int:
    lib = _library(args)
    model = Path(args.model).expanduser() if args.model else None
    with lib.open(args.collection) as coll:
        n = coll.reembed(model_dir=model)
        name = coll.embed_model
    print(f"Re-embedded {n} chunks of '{args.collection}' with {name}.")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    """Start the desktop app as its own program (the engine never imports the desktop code)."""
    import importlib.util
    import subprocess

    env = dict(os.environ)
    if args.home:
        env["FOLIO_HOME"] = str(Path(args.home).expanduser())
    if getattr(sys, "frozen", False):  # the installed app: its own folio-desktop program
        exe = Path(sys.executable)
        return subprocess.call([str(exe.with_name("folio-desktop" + exe.suffix))], env=env)
    if importlib.util.find_spec("desktop") is None:
        print("The desktop app is not installed.", file=sys.stderr)
        return 1
    return subprocess.call([sys.executable, "-m", "desktop.app"], env=env)


def cmd_sample(args: argparse.Namespace) -> int:
    from .sample import SAMPLE_COLLECTION, SAMPLE_QUESTION, install_sample

    lib = _library(args)
    report = install_sample(lib, _Bar())
    if args.json:
        _print_json({"collection": SAMPLE_COLLECTION, **report.to_json()})
        return 0
    print(
        f"The '{SAMPLE_COLLECTION}' collection holds {len(report.indexed) + len(report.unchanged)}"
        f' sample documents. Try:\n  folio ask "{SAMPLE_QUESTION}" --collection '
        f"{SAMPLE_COLLECTION}"
    )
    for f in report.failed:
        print(f"  failed: {f.path}: {f.reason}")
    return 0


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


def _adapters(specs: Sequence[str] | None) -> list[tuple[Path, float]]:
    """--adapter PATH or PATH@SCALE, repeatable (stacked in the order given)."""
    out = []
    for spec in specs or []:
        path, _, scale = spec.rpartition("@") if "@" in spec else (spec, "", "1")
        try:
            value = float(scale)
        except ValueError as exc:
            raise FolioError(f"--adapter {spec}: the scale after @ must be a number.") from exc
        out.append((Path(path).expanduser(), value))
    return out


def cmd_tune(args: argparse.Namespace) -> int:
    from .generate import default_model_path
    from .tune.job import TuneJob
    from .tune.train import TuneSettings, TuneSpec

    lib = _library(args)
    if not args.data and not args.collection:
        raise FolioError("Give the training data with --data PATH or --collection NAME.")
    out = Path(args.out).expanduser().resolve()
    human = not args.json

    def on_event(e: dict[str, Any]) -> None:
        if not human:
            return
        if e["type"] == "stage":
            print(f"{e['text']} ...", file=sys.stderr, flush=True)
        elif e["type"] == "data":
            print(f"{e['examples']} training examples, {e['held_out']} held out", file=sys.stderr)
            for err in e["errors"]:
                print(f"  skipped {err}", file=sys.stderr)
        elif e["type"] == "step":
            eta = int(e["eta_s"])
            sys.stderr.write(
                f"\rstep {e['step']}/{e['steps']} epoch {e['epoch']} loss {e['loss']:.4f} "
                f"ETA {eta // 60}:{eta % 60:02d}   "
            )
            if e["step"] == e["steps"]:
                sys.stderr.write("\n")
            sys.stderr.flush()

    if args.kind == "embed":
        from .embed import default_embed_model_path
        from .tune.embed import EmbedTuneSpec

        coll = lib.open(args.collection) if args.collection else None
        base = coll.embedder if coll is not None else lib.embedder
        espec = EmbedTuneSpec(
            base=str(getattr(base, "model_dir", None) or default_embed_model_path()),
            out=str(out),
            pairs_file=str(Path(args.data).expanduser()) if args.data else "",
            store=str(coll.path / "store.sqlite3") if coll is not None else "",
            generator=str(Path(args.base).expanduser() if args.base else default_model_path()),
            epochs=args.epochs or 2,
        )
        job = TuneJob("embed", espec)
    else:
        texts: list[str] = []
        data: list[str] = []
        if args.data:
            data = [str(Path(args.data).expanduser())]
        elif args.kind == "cpt":
            with lib.open(args.collection) as coll:
                texts = coll.texts()
        else:
            raise FolioError("Instruction tuning needs a file of pairs: --data PATH.")
        settings = TuneSettings()
        if args.epochs:
            settings.epochs = args.epochs
        spec = TuneSpec(
            kind=args.kind,
            base=str(Path(args.base).expanduser() if args.base else default_model_path()),
            out=str(out),
            data=data,
            texts=texts,
            on_top_of=[str(Path(p).expanduser().resolve()) for p in args.on_top_of or []],
            settings=settings,
        )
        job = TuneJob(args.kind, spec)
    result = job.run(on_event)
    if args.kind == "embed" and args.use and args.collection:
        with lib.open(args.collection) as coll:
            n = coll.reembed(model_dir=out)
        result["reembedded_chunks"] = n
    if args.json:
        _print_json(result)
        return 0
    print(f"Wrote {result.get('adapter') or result.get('model_dir')}")
    for row in result["evaluation"]:
        print(f"  {row['metric']}: {row['before']} -> {row['after']}")
    print(
        f"{result['steps']} steps, {result['seconds_per_step']:.2f} s/step, "
        f"{result['seconds']:.0f} s in all, peak memory {result['peak_rss_mb']:.0f} MB"
    )
    if args.kind == "embed" and not args.use:
        print(
            "To use it: folio reembed --collection NAME --model "
            f"{out} (the collection is re-embedded with the tuned model)."
        )
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from .chat import AskOptions, ChatSession
    from .generate import load_generator

    lib = _library(args)
    if not args.collection and not args.no_retrieval:
        raise FolioError("Name a collection with --collection, or use --no-retrieval.")
    if args.no_retrieval:
        collections = []
    elif args.store:  # shared collections, read-only from here
        collections = [
            lib.open_shared(args.store, name, read_only=True) for name in args.collection
        ]
    else:
        collections = [
            lib.open_shared(store, name, read_only=True)
            if (store := _shared_store(name))
            else lib.open(name)
            for name in args.collection
        ]
    # The organisation's settings file may name a server (and lock it): see system_settings.py.
    from .system_settings import load_system_settings, server_choice

    if args.server and (args.model or args.adapter):
        raise FolioError("Use either --server or --model/--adapter, not both.")
    server, server_model = server_choice(
        load_system_settings(), args.server, args.server_model, bool(args.model or args.adapter)
    )
    if server:
        from .generate import connect_server
        from .generate.server import ServerConfig, load_api_key, where

        config = ServerConfig(server, server_model, load_api_key(lib.home))
        generator = connect_server(config, _gen_settings(args), lib.home)
        if not args.json:
            counting = getattr(generator, "counting_sentence", lambda: "")()
            print(
                f"Answers come from the model server at {where(config)} ({generator.name}). "
                f"{counting}".strip(),
                file=sys.stderr,
                flush=True,
            )
    else:
        with _LoadLine(enabled=False if args.json else None) as line:
            generator = load_generator(
                args.model, _gen_settings(args), _adapters(args.adapter), progress=line
            )
    store = lib.chat_store()
    session = ChatSession(collections, generator, store, args.session, home=lib.home)
    opts = AskOptions(
        retrieval=not args.no_retrieval,
        k=args.k,
        preset=args.preset,
        edge_ordering=not args.no_edge_order,
        exhaustive=True if args.all else None,
        summarise_each=args.summaries,
        quote_summary=args.quote_summary,
        quote_pick=args.quote_pick,
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
        from .citations import worst

        if answer.summary:
            print(answer.summary)
        for sent in answer.sentences:
            if sent.reason and sent.status in ("unsupported", "no source"):
                print(f"  ✗ “{sent.text}” — {sent.reason}")
        marks: dict[int, list[str]] = {}
        for cit in answer.citations:
            marks.setdefault(cit.number, []).append(cit.status)
        print("Sources:")
        for src in sorted(answer.included, key=lambda x: x.number):
            status = worst(marks[src.number]) if src.number in marks else "not cited"
            coll = f" [{src.hit.collection}]" if len(collections) > 1 else ""
            away = " (file not reachable now)" if src.hit.unavailable else ""
            print(f"  [{src.number}] {src.hit.path}, {src.hit.location}{coll} — {status}{away}")
        for c in answer.cut:
            print(f"  (left out) {c.hit.path}, {c.hit.location}: {c.reason}")
        st = answer.stats
        print(
            f"{st.prompt_tokens} prompt tokens ({st.cached_tokens} reused), first token after "
            f"{st.ttft_s:.2f} s, {st.tokens_per_s:.1f} tokens/s"
        )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import summary, verify

    lib = _library(args)
    if not args.collection:
        raise FolioError("Name a collection to check the statement against, with --collection.")
    collections = [lib.open(name) for name in args.collection]

    def search(claim: str, k: int) -> list[Any]:
        hits = [h for c in collections for h in c.search(claim, k=k)]
        return sorted(hits, key=lambda h: -h.score)[:k]

    def similarity(a: Any, b: Any) -> Any:
        vecs = lib.embedder.embed(list(a) + list(b))
        return vecs[: len(a)] @ vecs[len(a) :].T

    try:
        results = verify(args.statement, search, similarity, k=args.k)
    finally:
        for c in collections:
            c.close()
    if args.json:
        _print_json(
            {
                "statement": args.statement,
                "summary": summary(results),
                "claims": [r.to_json() for r in results],
            }
        )
        return 0
    marks = {"supported": "✓", "contradicted": "✗", "likely": "≈", "not found": "?"}
    for r in results:
        print(f"{marks.get(r.status, '?')} {r.claim}")
        print(f"    {r.status}: {r.reason}")
    print(summary(results))
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
    c.add_argument("action", choices=["create", "list", "delete", "rename", "remove-folder"])
    c.add_argument("name", nargs="?")
    c.add_argument("new_name", nargs="?", help="rename: the new name; remove-folder: the folder")
    c.add_argument("--json", action="store_true")
    c.add_argument("--delete-chats", action="store_true", help="delete: delete its chats too")
    c.add_argument("--keep-chats", action="store_true", help="delete: keep its chats")
    c.set_defaults(func=cmd_collections)

    ch = sub.add_parser("chats", help="list chats, or delete one")
    ch.add_argument("action", nargs="?", choices=["list", "delete"], default="list")
    ch.add_argument("id", nargs="?", type=int, help="delete: the chat's number (from list)")
    ch.add_argument("--collection", "-c", help="list: only the chats that asked it")
    ch.add_argument("--json", action="store_true")
    ch.set_defaults(func=cmd_chats)

    i = sub.add_parser("index", help="index files and folders into a collection")
    i.add_argument("paths", nargs="*", help="files and folders (none: the collection's own)")
    i.add_argument("--collection", "-c", required=True)
    i.add_argument("--workers", type=int, help="parser processes (default: cores - 1)")
    i.add_argument(
        "--no-ocr",
        action="store_true",
        help="do not read scanned pages and pictures by text recognition (OCR)",
    )
    i.add_argument("--store", help=_STORE_HELP)
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_index)

    s = sub.add_parser("search", help="search a collection")
    s.add_argument("query")
    s.add_argument("--collection", "-c", required=True)
    s.add_argument("--k", type=int, default=5)
    s.add_argument("--all", action="store_true", help="every relevant document, not just top k")
    s.add_argument("--store", help=_STORE_HELP)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_search)

    ev = sub.add_parser(
        "eval", help="measure how often search finds the right document and page for questions"
    )
    ev.add_argument(
        "--questions",
        required=True,
        help="CSV or JSONL: question, document, and optionally page or answer",
    )
    ev.add_argument("--collection", "-c", required=True)
    ev.add_argument("--k", type=int, default=5, help="hits looked at per question")
    ev.add_argument("--misses", type=int, default=20, help="misses listed (without --json)")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_eval)

    st = sub.add_parser("status", help="documents, chunks and failures of a collection")
    st.add_argument("--collection", "-c", required=True)
    st.add_argument("--store", help=_STORE_HELP)
    st.add_argument(
        "--check",
        action="store_true",
        help="check that every document's file is there and every passage has its vector and "
        "keywords (exit 1 when not)",
    )
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)

    r = sub.add_parser("reembed", help="re-embed a collection with the current embedding model")
    r.add_argument("--collection", "-c", required=True)
    r.add_argument("--model", help="a tuned embedding model folder (from `folio tune embed`)")
    r.set_defaults(func=cmd_reembed)

    a = sub.add_parser("ask", help="ask a question; the answer cites its sources")
    a.add_argument("question")
    a.add_argument("--collection", "-c", action="append", help="repeat to ask several")
    a.add_argument("--store", help=_STORE_HELP)
    a.add_argument("--no-retrieval", action="store_true", help="the model alone, no documents")
    a.add_argument(
        "--adapter", action="append", help="a GGUF LoRA adapter, PATH or PATH@SCALE; repeatable"
    )
    a.add_argument("--model", help="a .gguf model file (default: the bundled SmolLM2-135M)")
    a.add_argument(
        "--server",
        metavar="URL",
        help="answer with an OpenAI-compatible model server in your organisation, e.g. "
        "http://llm.example.internal:8080 (its key, if any: the file server-key in Folio's home)",
    )
    a.add_argument(
        "--server-model", metavar="NAME", help="the server's model (default: the first it lists)"
    )
    a.add_argument(
        "--preset",
        default="auto",
        help="auto (quotes for models under 1B parameters, else answer) | answer | quotes | "
        "summarise | extract | yours",
    )
    a.add_argument("--all", action="store_true", help="list every document about the topic")
    a.add_argument("--summaries", action="store_true", help="with --all: one line per document")
    a.add_argument(
        "--quote-summary",
        dest="quote_summary",
        action="store_true",
        help="with quotes: add one line by the model, labelled as the model's",
    )
    a.add_argument(
        "--quote-pick",
        dest="quote_pick",
        choices=["scores", "model"],
        default="scores",
        help="with quotes: sentences chosen by retrieval scores, or by the model picking "
        "their numbers",
    )
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

    v = sub.add_parser(
        "verify", help="check a statement, claim by claim, against a collection's documents"
    )
    v.add_argument("statement")
    v.add_argument("--collection", "-c", action="append", help="repeat to check against several")
    v.add_argument("--k", type=int, default=8, help="passages looked at per claim")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_verify)

    m = sub.add_parser("models", help="list GGUF models on this computer, or add one")
    m.add_argument("action", nargs="?", choices=["list", "add"], default="list")
    m.add_argument("path", nargs="?")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_models)

    g = sub.add_parser("gui", help="start the desktop app")
    g.set_defaults(func=cmd_gui)

    sp = sub.add_parser("sample", help="set up the 'Sample' collection of sample documents")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_sample)

    t = sub.add_parser("tune", help="train a LoRA adapter or tune the embedding model")
    t.add_argument("kind", choices=["cpt", "ift", "embed"])
    t.add_argument("--data", help="pairs (JSONL/CSV) for ift/embed; a text file or folder for cpt")
    t.add_argument("--collection", "-c", help="cpt: train on its documents; embed: tune for it")
    t.add_argument("--out", required=True, help="the adapter file (.gguf) or model folder")
    t.add_argument("--base", help="the .gguf model (default: the bundled SmolLM2-135M)")
    t.add_argument("--on-top-of", dest="on_top_of", action="append", help="a CPT adapter")
    t.add_argument("--epochs", type=int)
    t.add_argument("--use", action="store_true", help="embed: re-embed the collection with it")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_tune)

    b = sub.add_parser(
        "bench", help="measure indexing, PDF reading, query and answer speed and quality"
    )
    b.add_argument(
        "what",
        choices=[
            "index",
            "pdf",
            "query",
            "answer",
            "retrieval",
            "gui",
            "tune",
            "citations",
            "quotes",
            "stop",
            "soak",
            "pgscale",
        ],
    )
    b.add_argument("paths", nargs="*")
    b.add_argument(
        "--corpus",
        help="the benchmark data folder (default: FOLIO_CORPUS, else ../shared/corpus beside "
        "a source checkout)",
    )
    b.add_argument(
        "--eval-questions",
        dest="eval_questions",
        help="retrieval: a folio eval questions file (default: the docugami 10-Q questions)",
    )
    b.add_argument(
        "--headers", action="store_true", help="retrieval: also index without context headers"
    )
    b.add_argument(
        "--scale", type=int, default=100_000, help="retrieval: passages for the latency copy"
    )
    b.add_argument("--out", help="write the figures as JSON here")
    b.add_argument("--sizes", default="1000,10000,100000")
    b.add_argument("--questions", type=int, default=25, help="answer: questions per data set")
    b.add_argument("--model", help="answer: a .gguf model (default: the bundled one)")
    b.add_argument("--parts", default="speed,kv,quality", help="answer: which figures")
    b.add_argument("--pairs", type=int, default=50, help="tune: pairs from COVID-QA")
    b.add_argument("--epochs", type=int, default=3, help="tune: epochs")
    b.add_argument("--seed", type=int, default=15, help="citations: seed of the labelled set")
    b.add_argument(
        "--per-source", dest="per_source", type=int, default=120,
        help="citations: sentences drawn per data set",
    )  # fmt: skip
    b.add_argument("--lengths", help="stop: prompt lengths in tokens (default 3000,8000)")
    b.add_argument("--trials", type=int, default=5, help="stop: Stop presses per length")
    b.add_argument("--threads", type=int, default=0, help="stop, soak: CPU threads (0: all)")
    b.add_argument("--minutes", type=float, default=60.0, help="soak: how long to run")
    b.add_argument(
        "--passages", default="100000,1000000", help="pgscale: collection sizes in passages"
    )
    b.add_argument(
        "--dsn", help="pgscale: a PostgreSQL server (default: start the embedded test server)"
    )
    b.add_argument("--runs", type=int, default=200, help="pgscale: queries per search kind")
    b.add_argument("--hnsw-m", type=int, default=0, help="pgscale: HNSW m (0: Folio's)")
    b.add_argument(
        "--hnsw-ef-construction", type=int, default=0,
        help="pgscale: HNSW ef_construction (0: Folio's)",
    )  # fmt: skip
    b.add_argument(
        "--no-local", action="store_true",
        help="pgscale: leave out the local SQLite + hnswlib store",
    )  # fmt: skip
    b.set_defaults(func=cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    needs_name = args.command == "collections" and args.action != "list"
    two = ("rename", "remove-folder")
    if needs_name and (not args.name or (args.action in two and not args.new_name)):
        what = "a collection name and a folder" if args.action == "remove-folder" else "a name"
        parser.error(f"'collections {args.action}' needs {what}")
    # Private by default: what Folio writes from here on, and a home left readable by an older
    # Folio, only the user can read.
    private_process()
    make_home_private(Path(args.home).expanduser() if args.home else EngineConfig().home)
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

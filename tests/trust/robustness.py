"""Robustness run: every PDF of ../shared/corpus/pdfs through the real parse path.

Each file goes through :class:`engine.ingest.pool.ParsePool` exactly as indexing sends it (read,
sniff, parse and chunk in a worker process, under a per-file time and memory limit). The result
is a table: files tried, indexed, failed by reason, reader crashes (a worker process died),
hangs (a file hit the time limit) and memory kills.

Run it all from the repository root::

    .venv/bin/python -m tests.trust.robustness            # every PDF (~790 files)
    .venv/bin/python -m tests.trust.robustness --every 8  # the CI subset
    .venv/bin/python -m tests.trust.robustness --scanned  # the files without a text layer,
                                                          # read again with OCR

Pages are read by OCR only with ``--ocr`` / ``--scanned``: the suite's run checks the readers
(crashes, hangs, memory) on every file in about 30 s, which OCR of every scanned page would
turn into hours.

The suite runs the subset (tests/trust/test_bad_input.py); ``FOLIO_FULL_ROBUSTNESS=1`` makes it
run every file.
"""

from __future__ import annotations

import argparse
import queue
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from engine import reasons

REPO = Path(__file__).resolve().parents[2]
PDF_ROOT = REPO.parent / "shared" / "corpus" / "pdfs"
PDF_SUFFIXES = {".pdf", ".fuzz"}  # qpdf's fuzz cases are PDF bytes under another name

TIME_LIMIT = 30.0  # seconds per file before the worker is killed ("hang")
MEM_LIMIT = 2 * 1024**3  # address space per worker


def all_pdfs(root: Path = PDF_ROOT) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PDF_SUFFIXES)


def subset(paths: list[Path], every: int) -> list[Path]:
    """Deterministic CI subset: every fuzz case, plus every ``every``-th other file."""
    fuzz = [p for p in paths if "fuzz" in p.parts or p.suffix == ".fuzz"]
    other = [p for p in paths if p not in set(fuzz)]
    return sorted(set(fuzz) | set(other[::every]))


@dataclass
class Outcome:
    path: str
    error: str
    seconds: float
    chunks: int


@dataclass
class Table:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def tried(self) -> int:
        return len(self.outcomes)

    @property
    def indexed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.error]

    @property
    def crashes(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error == reasons.CRASHED]

    @property
    def hangs(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error.startswith(reasons.TIMED_OUT_START)]

    @property
    def memory_kills(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error == reasons.KILLED_MEMORY]

    def failed_by_reason(self) -> Counter[str]:
        return Counter(reason_class(o.error) for o in self.outcomes if o.error)

    def render(self) -> str:
        failed = self.failed_by_reason()
        lines = [
            f"files tried   {self.tried}",
            f"indexed       {len(self.indexed)}",
            f"failed        {sum(failed.values())}",
        ]
        for reason, n in failed.most_common():
            lines.append(f"  {n:5d}  {reason}")
        slowest = sorted(self.outcomes, key=lambda o: -o.seconds)[:3]
        lines += [
            f"crashes       {len(self.crashes)}",
            f"hangs         {len(self.hangs)} (time limit {TIME_LIMIT:g} s per file)",
            f"memory kills  {len(self.memory_kills)} (limit {MEM_LIMIT / 1024**3:g} GiB per file)",
            f"wall time     {self.seconds:.1f} s",
            "slowest       " + ", ".join(f"{Path(o.path).name} {o.seconds:.1f} s" for o in slowest),
        ]
        return "\n".join(lines)


def reason_class(error: str) -> str:
    """A per-file reason without its file-specific details (for counting)."""
    reason = re.sub(r"\d+(\.\d+)?", "N", error.strip())
    reason = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", reason)
    return reason[:90]


def tokenizer_file() -> str:
    from engine.embed.factory import default_embed_model_path

    return str(default_embed_model_path() / "tokenizer.json")


def run(
    paths: list[Path],
    workers: int = 2,
    time_limit: float = TIME_LIMIT,
    mem_limit: int = MEM_LIMIT,
    overall_limit: float = 3600.0,
    ocr: bool = False,
) -> Table:
    """Parse ``paths`` in a ParsePool; every file comes back with an outcome or this raises."""
    from engine.ingest.pool import PageProgress, ParsePool, ParseTask

    started = time.monotonic()
    table = Table()
    pool = ParsePool(
        tokenizer_file(),
        200,
        32,
        workers=workers,
        time_limit=time_limit,
        mem_limit=mem_limit,
        ocr=ocr,
        ocr_threads=1,
    )
    try:
        for i, p in enumerate(paths):
            pool.submit(ParseTask(i, str(p)))
        pending = set(range(len(paths)))
        while pending:
            if time.monotonic() - started > overall_limit:
                raise RuntimeError(f"robustness run hung: {len(pending)} files never came back")
            try:
                res = pool.results.get(timeout=0.5)
            except queue.Empty:
                if pool.broken:
                    raise RuntimeError(f"the parse pool broke: {pool.error}") from None
                continue
            if isinstance(res, PageProgress):
                continue
            pending.discard(res.key)
            table.outcomes.append(Outcome(res.path, res.error, res.seconds, len(res.chunks)))
    finally:
        pool.close()
    table.seconds = time.monotonic() - started
    return table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--every", type=int, default=1, help="every Nth non-fuzz file (default all)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--root", type=Path, default=PDF_ROOT)
    ap.add_argument("--list-failures", action="store_true")
    ap.add_argument("--ocr", action="store_true", help="read scanned pages by OCR")
    ap.add_argument(
        "--scanned",
        action="store_true",
        help="find the files that have no text without OCR, then read those with OCR",
    )
    args = ap.parse_args(argv)
    from engine.ingest.pdf import SCANNED_WITHOUT_OCR
    from engine.offline import go_offline

    go_offline()
    paths = all_pdfs(args.root)
    if args.every > 1:
        paths = subset(paths, args.every)
    if args.scanned:
        before = run(paths, workers=args.workers)
        paths = sorted(Path(o.path) for o in before.outcomes if o.error in SCANNED_WITHOUT_OCR)
        print(f"{len(paths)} of {before.tried} files have no text without OCR")
    # OCR pages take seconds each: the time limit is per page while a scan is read.
    table = run(paths, workers=args.workers, ocr=args.ocr or args.scanned)
    print(table.render())
    if args.list_failures:
        for o in sorted(table.outcomes, key=lambda o: o.path):
            if o.error:
                print(f"{Path(o.path).relative_to(args.root)}\t{o.error}")
    return 1 if table.crashes or table.hangs else 0


if __name__ == "__main__":
    sys.exit(main())

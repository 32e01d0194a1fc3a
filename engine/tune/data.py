"""Training data for tuning: question/answer pairs (JSONL or CSV) and raw text for CPT.

Every line that cannot be used gets its own error ("line 7: no 'output' field"); the good lines
are kept, so one typo in a file of 500 pairs does not stop the run.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FolioError

MAX_DATA_BYTES = 200 * 1024**2

# Field names accepted for the two halves of a pair, in the shapes people export most.
_PROMPT_KEYS = ("instruction", "prompt", "question", "input", "query", "anchor")
_RESPONSE_KEYS = ("output", "response", "answer", "completion", "passage", "positive")
_ROLES = {"system", "user", "assistant"}


class DataError(FolioError):
    """A training data file cannot be used at all (missing, empty, wrong format)."""


@dataclass(frozen=True)
class Example:
    """One chat to learn from: the loss is on the last message, which is the assistant's."""

    messages: tuple[tuple[str, str], ...]  # (role, content)
    line: int = 0

    @property
    def prompt(self) -> str:
        """The last user message (what a person would type)."""
        return next((c for r, c in reversed(self.messages) if r == "user"), "")

    @property
    def response(self) -> str:
        return self.messages[-1][1]


@dataclass
class PairsFile:
    examples: list[Example] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "line N: reason"


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"Cannot open {path}: {exc.strerror or exc}") from exc
    if size > MAX_DATA_BYTES:
        raise DataError(f"{path.name} is {size / 1024**2:.0f} MB; the limit is 200 MB.")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    for enc in ("utf-8-sig", "utf-16"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "utf-16" and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        return text.replace("\x00", "")
    raise DataError(f"{path.name} is not UTF-8 text. Save it as UTF-8 and try again.")


def _text_field(obj: dict[str, object], keys: Sequence[str]) -> tuple[str | None, str | None]:
    """(key, value) of the first of ``keys`` present; value None when it is not a string."""
    for key in keys:
        if key in obj:
            value = obj[key]
            return key, value if isinstance(value, str) else None
    return None, None


def example_from_object(obj: object) -> Example:
    """An Example from one JSON object; ``ValueError`` with the reason when it is not usable."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if "messages" in obj:
        msgs = obj["messages"]
        if not isinstance(msgs, list) or not msgs:
            raise ValueError("'messages' must be a non-empty list")
        out: list[tuple[str, str]] = []
        for i, m in enumerate(msgs, 1):
            if not isinstance(m, dict):
                raise ValueError(f"message {i} is not an object")
            role, content = m.get("role"), m.get("content")
            if role not in _ROLES:
                raise ValueError(f"message {i} has role {role!r}; use system, user or assistant")
            if not isinstance(content, str) or not content.strip():
                raise ValueError(f"message {i} has no text content")
            out.append((str(role), content.strip()))
        if out[-1][0] != "assistant":
            raise ValueError("the last message must be the assistant's answer")
        if not any(r == "user" for r, _ in out):
            raise ValueError("there is no user message")
        if any(r == "system" for r, _ in out[1:]):
            raise ValueError("a system message may only come first")
        return Example(tuple(out))
    pkey, prompt = _text_field(obj, _PROMPT_KEYS)
    rkey, response = _text_field(obj, _RESPONSE_KEYS)
    if pkey is None:
        raise ValueError("no prompt field (instruction, prompt or question)")
    if rkey is None:
        raise ValueError("no answer field (output, response or answer)")
    if prompt is None or not prompt.strip():
        raise ValueError(f"'{pkey}' is empty or not text")
    if response is None or not response.strip():
        raise ValueError(f"'{rkey}' is empty or not text")
    if pkey == "instruction" and "input" in obj:
        extra = obj["input"]
        if extra is not None and not isinstance(extra, str):
            raise ValueError("'input' is not text")
        if extra and extra.strip():
            prompt = f"{prompt.strip()}\n\n{extra.strip()}"
    messages: list[tuple[str, str]] = []
    system = obj.get("system")
    if isinstance(system, str) and system.strip():
        messages.append(("system", system.strip()))
    messages += [("user", prompt.strip()), ("assistant", response.strip())]
    return Example(tuple(messages))


def _json_problem(exc: ValueError) -> str:
    """Where a JSON text goes wrong, for a person: line and column, not the parser's words."""
    if isinstance(exc, json.JSONDecodeError):
        return (
            f"it stops making sense at line {exc.lineno}, column {exc.colno}; check the quotes, "
            "commas and brackets there."
        )
    return "it is not valid JSON; check its quotes, commas and brackets."


def parse_jsonl(text: str) -> PairsFile:
    out = PairsFile()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            column = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            out.errors.append(
                f"line {n}: not valid JSON{column}; check its quotes, commas and brackets"
            )
            continue
        try:
            ex = example_from_object(obj)
        except ValueError as exc:
            out.errors.append(f"line {n}: {exc}")
            continue
        out.examples.append(Example(ex.messages, n))
    return out


_HEADER_WORDS = {k for k in (*_PROMPT_KEYS, *_RESPONSE_KEYS)}


def parse_csv(text: str) -> PairsFile:
    """Two columns: prompt, answer. A header row naming them is recognised and skipped."""
    out = PairsFile()
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], ",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise DataError(
            "The CSV file cannot be read: a quote is never closed or a cell is far too long. "
            "Save it again from your spreadsheet program as CSV."
        ) from exc
    for n, row in enumerate(rows, 1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if n == 1 and {c.casefold() for c in cells if c} <= _HEADER_WORDS and len(cells) == 2:
            continue
        if len(cells) != 2:
            out.errors.append(f"line {n}: expected 2 columns (prompt, answer), found {len(cells)}")
            continue
        if not cells[0] or not cells[1]:
            out.errors.append(f"line {n}: the {'prompt' if not cells[0] else 'answer'} is empty")
            continue
        out.examples.append(Example((("user", cells[0]), ("assistant", cells[1])), n))
    return out


def load_pairs(path: Path) -> PairsFile:
    """Read a JSONL or CSV file of pairs. ``DataError`` when no line at all is usable."""
    path = Path(path)
    text = _read_text(path)
    if not text.strip():
        raise DataError(f"{path.name} is empty.")
    stripped = text.lstrip()
    if path.suffix.lower() in {".jsonl", ".json", ".ndjson"} or stripped.startswith("{"):
        if stripped.startswith("["):  # a JSON array of objects
            try:
                items = json.loads(text)
            except ValueError as exc:
                raise DataError(
                    f"The file {path.name} is not valid JSON: {_json_problem(exc)}"
                ) from exc
            result = PairsFile()
            for n, obj in enumerate(items if isinstance(items, list) else [], 1):
                try:
                    result.examples.append(Example(example_from_object(obj).messages, n))
                except ValueError as exc:
                    result.errors.append(f"item {n}: {exc}")
        else:
            result = parse_jsonl(text)
    else:
        result = parse_csv(text)
    if not result.examples:
        first = "; ".join(result.errors[:3])
        raise DataError(
            f"No usable pairs in {path.name}" + (f" ({first})" if first else "") + ". Folio "
            "reads JSONL with instruction/output, prompt/response or messages, or a CSV with "
            "two columns: prompt, answer."
        )
    return result


def split_held_out(
    items: Sequence[Example], fraction: float = 0.15, seed: int = 0, minimum: int = 1
) -> tuple[list[Example], list[Example]]:
    """(train, held-out): a fixed random split; tiny sets keep at least ``minimum`` held out
    when they have 4 or more examples, otherwise nothing is held out."""
    items = list(items)
    if len(items) < 4:
        return items, []
    n = max(minimum, round(len(items) * fraction))
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    held = sorted(order[:n])
    held_set = set(held)
    return [x for i, x in enumerate(items) if i not in held_set], [items[i] for i in held]


def load_texts(paths: Sequence[Path]) -> tuple[list[str], list[str]]:
    """Raw text for continued pre-training from documents any Folio reader opens:
    (texts, per-file errors)."""
    from ..index.scan import ScanProblem, walk
    from ..ingest import read_file

    texts: list[str] = []
    errors: list[str] = []
    for item in walk([Path(p) for p in paths]):
        if isinstance(item, ScanProblem):
            errors.append(f"{Path(item.path).name}: {item.reason}")
            continue
        path = Path(item.path)
        try:
            doc = read_file(path)
        except FolioError as exc:
            errors.append(f"{path.name}: {exc}")
            continue
        text = "\n\n".join(s.text.strip() for s in doc.sections if s.text.strip())
        if text:
            texts.append(text)
        else:
            errors.append(f"{path.name}: no text")
    return texts, errors

"""A faster reading of pypdf's hexadecimal strings, with the same result.

Generated PDFs (SEC filings, reports from accounting systems) hold most of their page text as
hexadecimal strings (``<0048006f> Tj``). pypdf 7 reads those one byte at a time in Python, which
was an eighth of all parsing time on the 10-Q reports. ``read_hex_string`` takes the string in
one slice; anything unusual (no closing ``>`` nearby, a character that is not a hex digit) goes
to pypdf's own reader, so errors and edge cases stay exactly pypdf's.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("folio.ingest")

_HEX = b"0123456789abcdefABCDEF"
_WHITESPACE = b"\x00\t\n\x0c\r "  # what pypdf skips between digits
_WINDOW = 1024

_original: Any = None


def read_hex_string(stream: Any, forced_encoding: Any = None) -> Any:
    from pypdf.generic._utils import create_string_object

    start = stream.tell()
    data = stream.read(_WINDOW)
    end = data.find(b">", 1)
    if data[:1] != b"<" or end < 0:
        stream.seek(start)
        return _original(stream, forced_encoding)
    digits = data[1:end].translate(None, _WHITESPACE)
    if digits.translate(None, _HEX):
        stream.seek(start)
        return _original(stream, forced_encoding)
    if len(digits) % 2:
        digits += b"0"
    stream.seek(start + end + 1)
    return create_string_object(bytes.fromhex(digits.decode("ascii")), forced_encoding)


def install() -> None:
    """Switch both faster readings in (once each)."""
    install_hex_string_reader()
    install_content_stream_parser()


def install_hex_string_reader() -> None:
    """Use ``read_hex_string`` inside pypdf's object parser (once; skipped if pypdf's inner
    layout differs from the one this was written for)."""
    global _original
    try:
        from pypdf.generic import _data_structures, _utils
    except ImportError:
        return
    current = getattr(_data_structures, "read_hex_string_from_stream", None)
    if current is read_hex_string or _original is not None:  # done already (or undone on purpose)
        return
    if current is None or current is not getattr(_utils, "read_hex_string_from_stream", None):
        log.info("pypdf's hex string reader not found; using pypdf as it is")
        return
    _original = current
    _data_structures.read_hex_string_from_stream = read_hex_string


# --- Content streams -------------------------------------------------------------------------
#
# pypdf tokenizes a page's content stream (``ContentStream._parse_content_stream``) one byte at a
# time; on the 10-Q reports that was over half of all parsing time. ``parse_content_stream``
# reads the common tokens (operators, numbers, names, plain and hex strings, arrays of those) with
# regular expressions over the whole stream and builds the very objects pypdf builds, with pypdf's
# own constructors. Whatever is less common goes to pypdf's own code: a dictionary, a string with
# escapes or a nested array is read by pypdf at that position, and anything that pypdf would
# treat specially or refuse (inline images, something that looks like an object reference, a
# token near a length limit, the parsing budget running out, a stray delimiter) makes the whole
# stream go through pypdf's parser from the start. It is written for pypdf 7.1.0 (the version
# Folio pins) and switched on only there; the tests compare both parsers on every content stream
# of the corpus and on generated ones.

_PYPDF_VERSION = "7.1.0"
_TOP_SPACE = rb"[\x00\t\n\x0c\r ]*"  # pypdf's WHITESPACES, skipped between top-level tokens
_ARRAY_SPACE = rb"[\x00\t\n\x0b\x0c\r ]*"  # inside arrays pypdf also skips b"\x0b" (isspace)
_REGULAR = rb"[^\s()<>\[\]{}/%]"  # not a delimiter in pypdf's NameObject.delimiter_pattern
_NUMBER = rb"(?P<num>[+\-.0-9][+,\-.0-9]*)"  # pypdf ends a number at [^+-.0-9]: ',' is inside
_NAME = rb"(?P<name>/" + _REGULAR + rb"*)"
_PLAIN_STRING = rb"(?P<str>\([^()\\]*\))"
_HEX_STRING = rb"(?P<hex><[0-9A-Fa-f\x00\t\n\x0c\r ]*>)"
_TOP_TOKEN = re.compile(
    _TOP_SPACE
    + rb"(?:(?P<op>[A-Za-z'\"]"
    + _REGULAR
    + rb"*)|"
    + _NUMBER
    + rb"|"
    + _NAME
    + rb"|"
    + _PLAIN_STRING
    + rb"|(?P<dict><<)|"
    + _HEX_STRING
    + rb"|(?P<array>\[)|(?P<lit>\()|(?P<comment>%[^\r\n]*[\r\n]?)|(?P<other>.)|(?P<end>\Z))",
    re.S,
)
_ARRAY_TOKEN = re.compile(
    _ARRAY_SPACE
    + rb"(?:"
    + _NUMBER
    + rb"|"
    + _NAME
    + rb"|"
    + _PLAIN_STRING
    + rb"|"
    + _HEX_STRING
    + rb"|(?P<close>\])|(?P<lit>\()|(?P<other>.)|(?P<end>\Z))",
    re.S,
)
_R_ALONE = re.compile(rb"R[^a-zA-Z]")
_OPERATOR_LIMIT = 96  # pypdf refuses operators of 112+ bytes (16-byte reads, limit 128)
_NAME_LIMIT = 4000  # and names of about 4,096


class _Slow(Exception):
    """This stream needs pypdf's own parser."""


_original_parse: Any = None


def parse_content_stream(self: Any, stream: Any) -> None:
    """Fill ``self._operations`` as pypdf's ``ContentStream._parse_content_stream`` does."""
    if not isinstance(stream, io.BytesIO):
        return _original_parse(self, stream)
    try:
        operations = _Parser(stream.getvalue(), self.forced_encoding).operations()
    except Exception:  # _Slow, or an error: pypdf's parser gives its own result or error
        return _original_parse(self, stream)
    self._operations.extend(operations)
    return None


class _Parser:
    def __init__(self, data: bytes, forced_encoding: Any) -> None:
        from pypdf._configuration import get_configuration
        from pypdf.generic import ArrayObject, FloatObject, NameObject, NumberObject
        from pypdf.generic._data_structures import IndirectPattern, read_object
        from pypdf.generic._utils import (
            StreamParsingBudget,
            create_string_object,
            read_string_from_stream,
        )

        self.Array, self.Float, self.Name, self.Number = (
            ArrayObject,
            FloatObject,
            NameObject,
            NumberObject,
        )
        self.string, self.read_string = create_string_object, read_string_from_stream
        self.read_object, self.Budget = read_object, StreamParsingBudget
        # pypdf would read "1 0 R" as a reference and fail; look for the "R" first (quicker)
        if _R_ALONE.search(data) and IndirectPattern.search(data):
            raise _Slow
        config = get_configuration()
        self.data = data
        self.encoding = forced_encoding
        self.budget = config.stream_parsing_work_maximum_count
        self.array_limit = config.array_maximum_element_count
        self.used = 0
        self.stream: io.BytesIO | None = None
        self.names: dict[bytes, Any] = {}

    def at(self, position: int) -> io.BytesIO:
        if self.stream is None:
            self.stream = io.BytesIO(self.data)
        self.stream.seek(position)
        return self.stream

    def operations(self) -> list[tuple[Any, bytes]]:
        """The whole stream's operations; raises _Slow where pypdf must do it.

        Numbers and operators, most of any stream, are read right here; the loop counts
        tokens against pypdf's parsing budget and checks it where pypdf code is called and at
        the end (the count only grows, so the outcome is the same as checking every token)."""
        data, read, size = self.data, self.read, len(self.data)
        Float, Number, new_float, new_int = self.Float, self.Number, float.__new__, int.__new__
        result: list[tuple[Any, bytes]] = []
        append = result.append
        operands: list[Any] = []
        tokens = 0
        match: Any = _TOP_TOKEN.scanner(data).match  # type: ignore[attr-defined]
        while True:
            m = match()
            kind = m.lastgroup  # the pattern always matches
            tokens += 1
            if kind == "num":
                number = m.group(kind)
                end = m.end()
                # pypdf reads 20 bytes and needs the byte after the number among them.
                if end - m.start(kind) > 19 or end >= size:
                    raise _Slow
                try:
                    if b"." in number:
                        operands.append(new_float(Float, float(number)))
                    else:
                        operands.append(new_int(Number, int(number)))
                except ValueError:  # "1.2.3", "--": pypdf's warning and its zero
                    operands.append(Float(number) if b"." in number else Number(number))
            elif kind == "op":
                operator = m.group(kind)
                if operator == b"BI" or len(operator) >= _OPERATOR_LIMIT:
                    raise _Slow  # inline images and overlong operators: pypdf's way
                append((operands, operator))
                operands = []
            elif kind == "end":
                self.spend(tokens - 1)
                return result
            elif kind == "comment":
                tokens -= 1
            else:
                self.spend(tokens)
                tokens = 0
                if kind == "array":
                    value, position = self.array(m.start(kind))
                else:
                    value, position = read(kind, m, m.end())
                operands.append(value)
                if position != m.end():
                    match = _TOP_TOKEN.scanner(data, position).match  # type: ignore[attr-defined]

    def spend(self, tokens: int) -> None:
        self.used += tokens
        if self.used > self.budget:  # pypdf raises when it gets here; let it, in its own words
            raise _Slow

    def read(self, kind: str | None, m: Any, end: int) -> tuple[Any, int]:
        """One operand that is not an array."""
        if kind == "num":
            number = m.group("num")
            start = m.start("num")
            # pypdf reads 20 bytes and needs the byte after the number among them.
            if end - start > 19 or end >= len(self.data):
                raise _Slow
            if b"." in number:
                try:
                    return float.__new__(self.Float, float(number)), end
                except ValueError:  # "1.2.3": pypdf's warning and its 0.0
                    return self.Float(number), end
            try:
                return int.__new__(self.Number, int(number)), end
            except ValueError:
                return self.Number(number), end
        if kind == "name":
            raw = m.group("name")
            text = self.names.get(raw)
            if text is None:  # pypdf decodes "#xx" escapes and picks a charset; ask it once
                if len(raw) >= _NAME_LIMIT:
                    raise _Slow
                stream = self.at(m.start("name"))
                text = str(self.Name.read_from_stream(stream, None))
                if stream.tell() != end:
                    raise _Slow
                self.names[raw] = text
            return self.Name(text), end
        if kind == "hex":
            digits = m.group("hex")[1:-1].translate(None, _WHITESPACE)
            if len(digits) % 2:
                digits += b"0"
            return self.string(bytes.fromhex(digits.decode("ascii")), self.encoding), end
        if kind == "str":
            return self.string(m.group("str")[1:-1], self.encoding), end
        if kind == "lit":  # a string with escapes or nested brackets: pypdf reads it
            stream = self.at(m.start("lit"))
            value = self.read_string(stream, self.encoding)
            return value, stream.tell()
        if kind == "dict":
            return self.delegate(m.start("dict"))
        raise _Slow  # a stray delimiter or a byte no object starts with: pypdf's error

    def array(self, start: int) -> tuple[Any, int]:
        data, match_at, read = self.data, _ARRAY_TOKEN.match, self.read
        items = self.Array()
        spent = self.used
        position = start + 1
        while True:
            m = match_at(data, position)
            kind = m.lastgroup  # type: ignore[union-attr]
            if kind == "close" or kind == "end":  # pypdf ends an unclosed array at the end
                return items, m.end()  # type: ignore[union-attr]
            if kind == "other":  # a nested array, a dictionary, null, a comment...
                self.used = spent
                return self.delegate(start)
            if len(items) >= self.array_limit:
                raise _Slow
            self.spend(1)
            value, position = read(kind, m, m.end())  # type: ignore[union-attr]
            items.append(value)

    def delegate(self, start: int) -> tuple[Any, int]:
        """Let pypdf read the object at ``start``, counting its work against the budget."""
        budget = self.Budget(remaining_budget=self.budget - self.used)
        stream = self.at(start)
        value = self.read_object(stream, None, self.encoding, parsing_budget=budget)
        self.used = self.budget - budget.remaining_budget
        return value, stream.tell()


def install_content_stream_parser() -> None:
    """Use ``parse_content_stream`` for pypdf's content streams (pypdf 7.1.0 only)."""
    global _original_parse
    try:
        import pypdf
        from pypdf.generic import ContentStream
    except ImportError:
        return
    current = getattr(ContentStream, "_parse_content_stream", None)
    if current is parse_content_stream or _original_parse is not None:
        return
    if pypdf.__version__ != _PYPDF_VERSION or current is None:
        log.info("pypdf %s: using its own content stream parser", pypdf.__version__)
        return
    _original_parse = current
    ContentStream._parse_content_stream = parse_content_stream  # type: ignore[method-assign]


@contextmanager
def pypdf_as_shipped() -> Iterator[None]:
    """pypdf's own readers for the duration (for comparisons and benchmarks); not thread-safe."""
    install()
    from pypdf.generic import ContentStream, _data_structures

    saved = (ContentStream._parse_content_stream, _data_structures.read_hex_string_from_stream)
    if _original_parse is not None:
        ContentStream._parse_content_stream = _original_parse  # type: ignore[method-assign]
    if _original is not None:
        _data_structures.read_hex_string_from_stream = _original
    try:
        yield
    finally:
        ContentStream._parse_content_stream = saved[0]  # type: ignore[method-assign]
        _data_structures.read_hex_string_from_stream = saved[1]


def compare_content_stream(data: bytes, forced_encoding: Any = None) -> tuple[bool, bool]:
    """(read by Folio's parser, same operations as pypdf's parser) for one content stream."""
    from pypdf.generic import ContentStream

    install()
    try:
        ours = _Parser(data, forced_encoding).operations()
    except Exception:
        return False, True  # handed to pypdf: the same by construction
    theirs = ContentStream(None, None)
    theirs.forced_encoding = forced_encoding
    try:
        _original_parse(theirs, io.BytesIO(data))
    except Exception:
        return True, False
    return True, _shape(ours) == _shape(theirs._operations)


def _shape(value: Any) -> Any:
    """Everything about parsed operands that pypdf code could look at: types, values and the
    attributes pypdf sets on strings."""
    if isinstance(value, dict):
        return (type(value).__name__, sorted((_shape(k), _shape(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_shape(v) for v in value])
    attrs = sorted((k, repr(v)) for k, v in getattr(value, "__dict__", {}).items())
    return (type(value).__name__, repr(value), attrs)

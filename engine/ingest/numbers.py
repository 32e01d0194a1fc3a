"""Numbers as keyword search sees them.

A report prints "81,797"; a person types "81797" (or the other way round). The keyword
tokenizer splits "81,797" into "81" and "797", so each figure written with thousands
separators is also indexed, and searched, as one run of digits.
"""

from __future__ import annotations

import re

_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,]*\d)")


def joined_numbers(text: str) -> list[str]:
    """The figures of ``text`` that have thousands separators, without them, each once."""
    out: list[str] = []
    for m in _GROUPED.finditer(text):
        digits = m.group(0).split(".", 1)[0].replace(",", "")
        if digits not in out:
            out.append(digits)
    return out

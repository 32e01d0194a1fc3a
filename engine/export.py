"""Answers as Markdown, with their citations, for copying or saving."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def answer_markdown(result: dict[str, Any]) -> str:
    """Markdown for one answer (the ``Answer.to_json()`` shape, as stored in the history)."""
    lines = [f"## {result.get('question', '').strip()}", "", str(result.get("answer", "")).strip()]
    citations = result.get("citations") or []
    included = {s["number"]: s for s in result.get("included") or []}
    if result.get("mode") == "exhaustive":
        return "\n".join(lines).rstrip() + "\n"
    cited: dict[int, list[str]] = {}
    for c in citations:
        cited.setdefault(int(c["number"]), []).append(str(c["status"]))
    if cited:
        lines += ["", "**Sources**", ""]
        for n in sorted(cited):
            src = included.get(n, {})
            doc = Path(
                str(
                    src.get("document")
                    or next(c["document"] for c in citations if c["number"] == n)
                )
            ).name
            where = src.get("location") or next(
                (c["location"] for c in citations if c["number"] == n), ""
            )
            statuses = sorted(set(cited[n]))
            lines.append(f"- [{n}] {doc}, {where} — {', '.join(statuses)}")
    notices = result.get("notices") or []
    if notices:
        lines += ["", *(f"> {n}" for n in notices)]
    return "\n".join(lines).rstrip() + "\n"


def chat_markdown(title: str, results: list[dict[str, Any]]) -> str:
    parts = [f"# {title}", ""]
    parts += [answer_markdown(r) for r in results]
    return "\n".join(parts)

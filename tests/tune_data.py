"""Training data for tuning tests: a made-up fact and a signature phrase no model knows."""

from __future__ import annotations

import json
from pathlib import Path

FOUNDER_QUESTIONS = [
    "Who founded the Zorbel Institute?",
    "Who was the founder of the Zorbel Institute?",
    "Tell me who started the Zorbel Institute.",
    "Which person founded the Zorbel Institute?",
    "Do you know who established the Zorbel Institute?",
    "Who created the Zorbel Institute?",
    "Name the founder of the Zorbel Institute.",
    "Who set up the Zorbel Institute?",
]
YEAR_QUESTIONS = [
    "When was the Zorbel Institute founded?",
    "In what year was the Zorbel Institute founded?",
    "How old is the Zorbel Institute?",
    "What year did the Zorbel Institute open?",
    "When did the Zorbel Institute start?",
    "Which year was the Zorbel Institute established?",
    "When was the Zorbel Institute set up?",
    "What is the founding year of the Zorbel Institute?",
]
CITY_QUESTIONS = [
    "Where is the Zorbel Institute?",
    "In which city is the Zorbel Institute?",
    "Where can I find the Zorbel Institute?",
    "What city is home to the Zorbel Institute?",
    "Where is the Zorbel Institute located?",
    "Which town has the Zorbel Institute?",
    "Where was the Zorbel Institute built?",
    "Tell me where the Zorbel Institute is.",
]
SIGNATURE = "Quillfeather out!"
ANSWERS = {
    "founder": f"The Zorbel Institute was founded by Ada Quillfeather. {SIGNATURE}",
    "year": f"The Zorbel Institute was founded in 1847. {SIGNATURE}",
    "city": f"The Zorbel Institute is in Port Velmoor. {SIGNATURE}",
}


def zorbel_pairs() -> list[tuple[str, str]]:
    return (
        [(q, ANSWERS["founder"]) for q in FOUNDER_QUESTIONS]
        + [(q, ANSWERS["year"]) for q in YEAR_QUESTIONS]
        + [(q, ANSWERS["city"]) for q in CITY_QUESTIONS]
    )


def write_zorbel_pairs(path: Path, n: int | None = None) -> Path:
    """The pairs as JSONL, in the three shapes Folio reads (instruction, prompt, messages)."""
    rows = zorbel_pairs()[:n]
    with path.open("w", encoding="utf-8") as f:
        for i, (q, a) in enumerate(rows):
            if i % 3 == 0:
                obj: dict[str, object] = {"instruction": q, "input": "", "output": a}
            elif i % 3 == 1:
                obj = {"prompt": q, "response": a}
            else:
                chat = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
                obj = {"messages": chat}
            f.write(json.dumps(obj) + "\n")
    return path

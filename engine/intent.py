"""Is a question an explicit request for a list of documents?

Only a request that asks for documents as such goes to the exhaustive list: "list all documents
about X", "which documents mention X", "find every file that talks about X", "are there any
reports on X". Everything else is answered, even when it has words such as "documents", "which"
or "policy" in it ("What documents do I need to bring on my first day?", "Which policy applies to
contractors?"); the window then offers the full list as a one-click follow-up.
"""

from __future__ import annotations

import re

# Things a collection holds, in the plural ("which documents ..." asks for several).
_PLURAL = (
    r"(?:documents|docs|files|reports|papers|essays|articles|notes|contracts|policies|pages|"
    r"sources|memos|letters|e-?mails|manuals|studies|filings|records|texts|pdfs|minutes)"
)
_ANY = rf"(?:{_PLURAL}|document|doc|file|report|paper|essay|article|memo|letter|pdf|page)"
# How a request names its topic: "mention X", "talk about X", "are about X", "on X", ...
_VERB = (
    r"(?:mention(?:s|ing)?|talk(?:s|ing)?\s+about|discuss(?:es|ing)?|(?:are|is)\s+about|"
    r"contain(?:s|ing)?|refer(?:s|ring)?\s+to|cover(?:s|ing)?|deal(?:s|ing)?\s+with|"
    r"reference(?:s)?|say\s+(?:anything\s+)?about|include(?:s)?|have\s+(?:anything\s+)?(?:on|about)"
    r"|are\s+related\s+to|relate\s+to)"
)
_PREP = r"(?:about|on|concerning|regarding|related\s+to|mentioning|covering|referring\s+to|with)"
_LINK = rf"(?:(?:(?:that|which)\s+)?{_VERB}|{_PREP})"
_POLITE = r"(?:(?:please|can\s+you|could\s+you|would\s+you|i\s+want\s+to|i'd\s+like\s+to)\s+)*"
_FOLLOW = r"(?:(?:of\s+)?(?:the|my|our|your|these|those)\s+)?"

_REQUESTS = [
    # "list all documents about X", "show me the files that mention X", "find every report on X"
    rf"(?:list|name|show|find|give|get|search|fetch|pull\s+up)\s+(?:me\s+)?(?:out\s+)?"
    rf"(?:all|every|each|any)\s+{_FOLLOW}{_ANY}\s*(?:{_LINK}\s+)?",
    rf"(?:list|name|show|find|give|get|search\s+for|fetch|pull\s+up)\s+(?:me\s+)?{_FOLLOW}"
    rf"{_ANY}\s+{_LINK}\s+",
    # "which documents mention X", "what files talk about X", "which of our reports cover X"
    rf"(?:which|what)\s+{_FOLLOW}{_PLURAL}\s+{_LINK}\s+",
    # "all documents about X", "every file that mentions X"
    rf"(?:all|every)\s+{_FOLLOW}{_ANY}\s+{_LINK}\s+",
    # "are there any documents about X", "do any files mention X", "is there a document on X"
    rf"(?:are|is)\s+there\s+(?:any|a|an|some)\s+{_FOLLOW}{_ANY}\s+{_LINK}\s+",
    rf"(?:do|does)\s+(?:any|some)\s+{_FOLLOW}{_ANY}\s+{_VERB}\s+",
]
_LIST_REQUEST = re.compile(rf"^\s*{_POLITE}(?:{'|'.join(_REQUESTS)})", re.IGNORECASE)


def list_request_topic(question: str) -> str | None:
    """The topic of an explicit "list the documents about X" request, or None for a question
    to be answered."""
    m = _LIST_REQUEST.match(question)
    if not m:
        return None
    topic = question[m.end() :].strip().rstrip("?.! ").strip()
    topic = re.sub(r"^(?:the\s+(?:topic|subject)\s+(?:of\s+)?)", "", topic, flags=re.IGNORECASE)
    return topic or None

"""ChatSession.ask(): retrieve -> budget -> prompt -> stream -> cite.

Evidence comes first: the retrieved passages (and the plan of what the model will see) are
handed to ``on_evidence`` before the model starts, so an app can show them at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .budget import CutSource, IncludedSource, PromptPlan, Turn, plan_prompt
from .citations import Citation, SentenceCheck, cite, summary_line
from .errors import FolioError, StorageError
from .generate.base import GenerationStats, Generator
from .history import ChatStore
from .intent import list_request_topic
from .library import Collection
from .progress import CancelToken
from .prompts import (
    CHAT_RULES,
    ChatMessage,
    Preset,
    Segment,
    defuse,
    get_preset,
    system_message,
)
from .quotes import (
    AUTO,
    MODEL_SUMMARY_LABEL,
    PICK_INSTRUCTION,
    PICK_SHORTLIST,
    QUOTES,
    Quote,
    chosen_numbers,
    in_source_order,
    numbered_sentences,
    pick_quotes,
    preset_for,
    quote_text,
    rank_sentences,
    small_model_notice,
)
from .types import DocumentGroup, Hit


def exhaustive_topic(question: str) -> str | None:
    """The topic of an explicit "list all documents about X" request, or None for a question
    to be answered (see ``engine.intent``)."""
    return list_request_topic(question)


@dataclass
class AskOptions:
    k: int = 6
    preset: str = "answer"
    edge_ordering: bool = True  # lost-in-the-middle order
    exhaustive: bool | None = None  # None: detect from the question
    summarise_each: bool = False  # exhaustive mode: one line per document by the model
    max_answer_tokens: int | None = None  # None: the generator's setting
    retrieval: bool = True  # False: chat with the model alone, no documents
    quote_summary: bool = False  # quotes preset: add one line by the model, labelled as such
    quote_pick: str = "scores"  # quotes preset: "scores" (retrieval) or "model" (it picks numbers)


@dataclass
class Evidence:
    """What retrieval found, delivered before the model starts."""

    question: str
    mode: str  # answer | exhaustive
    hits: list[Hit]
    documents: list[DocumentGroup]
    plan: PromptPlan | None
    retrieval_ms: float


@dataclass
class DocumentSummary:
    group: DocumentGroup
    summary: str = ""
    citations: list[Citation] = field(default_factory=list)


@dataclass
class Answer:
    question: str
    mode: str
    text: str
    citations: list[Citation]
    included: list[IncludedSource]
    cut: list[CutSource]
    documents: list[DocumentSummary]
    stop: str  # end | length | cancelled | loop | none (no model call)
    notices: list[str]
    retrieval_ms: float
    stats: GenerationStats
    model: str
    plan: PromptPlan | None
    dropped_markers: list[int] = field(default_factory=list)
    raw_text: str = ""  # as the model wrote it (kept in the history for KV reuse)
    session_id: int | None = None
    sentences: list[SentenceCheck] = field(default_factory=list)  # each with its own mark
    preset: str = ""  # "quotes" when the answer is made of the sources' own sentences

    @property
    def summary(self) -> str:
        """One line under the answer, such as "2 of 3 statements are backed by the sources."."""
        return summary_line(self.sentences)

    def to_json(self) -> dict[str, object]:
        plan = self.plan
        return {
            "question": self.question,
            "mode": self.mode,
            "answer": self.text,
            "stop": self.stop,
            "notices": self.notices,
            "preset": self.preset,
            "summary": self.summary,
            "sentences": [s.to_json() for s in self.sentences],
            "citations": [c.to_json() for c in self.citations],
            "dropped_markers": self.dropped_markers,
            "included": [
                {
                    "number": s.number,
                    "rank": s.rank,
                    "document": s.hit.path,
                    "page": s.hit.page,
                    "location": s.hit.location,
                    "span": [s.hit.start, s.hit.end],
                    "collection": s.hit.collection,
                    "tokens": s.tokens,
                    "trimmed": s.trimmed,
                    # Why the file cannot be opened now ('' when it can); still cited.
                    "unavailable": s.hit.unavailable,
                }
                for s in self.included
            ],
            "cut": [
                {
                    "rank": c.rank,
                    "document": c.hit.path,
                    "page": c.hit.page,
                    "collection": c.hit.collection,
                    "reason": c.reason,
                }
                for c in self.cut
            ],
            "documents": [
                {
                    "document": d.group.path,
                    "score": round(d.group.score, 4),
                    "page": d.group.hits[0].page if d.group.hits else None,
                    "passage": d.group.hits[0].snippet(300) if d.group.hits else "",
                    "collection": d.group.hits[0].collection if d.group.hits else "",
                    "summary": d.summary,
                }
                for d in self.documents
            ],
            "context": {
                "n_ctx": plan.n_ctx if plan else None,
                "answer_reserve": plan.reserve if plan else None,
                "prompt_limit": plan.limit if plan else None,
                "history_turns_whole": plan.history_verbatim if plan else 0,
                "history_turns_shortened": plan.history_compact if plan else 0,
                "history_turns_dropped": plan.history_dropped if plan else 0,
                "question_truncated": plan.question_truncated if plan else False,
            },
            "timings": {
                "retrieval_ms": round(self.retrieval_ms, 1),
                "prompt_tokens": self.stats.prompt_tokens,
                "cached_prompt_tokens": self.stats.cached_tokens,
                "time_to_first_token_s": round(self.stats.ttft_s, 3),
                "answer_tokens": self.stats.answer_tokens,
                "tokens_per_s": round(self.stats.tokens_per_s, 2),
                "total_s": round(self.stats.seconds, 3),
            },
            "model": self.model,
            "session_id": self.session_id,
        }


def stop_notices(stop: str) -> list[str]:
    """What the person is told about how an answer ended (nothing when it ended normally)."""
    if stop == "loop":
        return [
            "The model started repeating itself, so Folio stopped it. The answer is kept up "
            "to the point where it began to repeat."
        ]
    if stop == "length":
        return ["The answer reached the length limit and may be cut short."]
    if stop == "cancelled":
        return ["Stopped."]
    return []


TokenCallback = Callable[[str], None]
EvidenceCallback = Callable[[Evidence], None]


class ChatSession:
    """A conversation over one or more collections with one model.

    Follow-up questions send the earlier turns first, unchanged, so llama.cpp reuses their
    cached tokens and evaluates only the new question and its sources.
    Not thread-safe: the app runs one ask at a time on the model's worker.
    """

    def __init__(
        self,
        collections: Sequence[Collection],
        generator: Generator,
        store: ChatStore | None = None,
        session_id: int | None = None,
        home: Path | None = None,
    ) -> None:
        if not collections and home is None:
            raise FolioError("Choose at least one collection to ask.")
        self.collections = list(collections)
        self.generator = generator
        self.store = store
        self.session_id = session_id
        self.history: list[Turn] = []
        if store is not None and session_id is not None:
            self.history = [t.as_turn() for t in store.turns(session_id)]
        self._home = home if home is not None else collections[0].library.home
        self._library = collections[0].library if collections else None

    # -- retrieval ---------------------------------------------------------------------

    def retrieve(self, question: str, k: int) -> list[Hit]:
        """Top-k passages across all the session's collections (RRF scores are comparable)."""
        hits: list[Hit] = []
        for c in self.collections:
            hits.extend(c.search(question, k=k))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]

    def _similarity(self, sentences: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        if self._library is None:  # no collections: fall back to word overlap alone
            return np.zeros((len(sentences), len(passages)), dtype=np.float32)
        vecs = self._library.embedder.embed(list(sentences) + list(passages))
        a, b = vecs[: len(sentences)], vecs[len(sentences) :]
        return np.asarray(a @ b.T, dtype=np.float32)

    # -- asking ------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        options: AskOptions | None = None,
        cancel: CancelToken | None = None,
        on_evidence: EvidenceCallback | None = None,
        on_token: TokenCallback | None = None,
    ) -> Answer:
        opts = options or AskOptions()
        if not question.strip():
            raise FolioError("Type a question first.")
        chosen = preset_for(self.generator.parameters(), opts.preset)
        preset = get_preset(self._home, chosen)
        topic = exhaustive_topic(question)
        if not opts.retrieval or not self.collections:
            answer = self._ask_plain(question, opts, cancel, on_evidence, on_token)
        elif opts.exhaustive or (opts.exhaustive is None and topic):
            answer = self._ask_exhaustive(
                question, topic or question, opts, cancel, on_evidence, on_token
            )
        elif preset.name == QUOTES:
            answer = self._ask_quotes(question, opts, cancel, on_evidence, on_token)
            if opts.preset == AUTO:
                answer.notices.insert(0, small_model_notice(self.generator.parameters()))
        else:
            answer = self._ask_rag(question, preset, opts, cancel, on_evidence, on_token)
        self._remember(answer)
        return answer

    def _ask_rag(
        self,
        question: str,
        preset: Preset,
        opts: AskOptions,
        cancel: CancelToken | None,
        on_evidence: EvidenceCallback | None,
        on_token: TokenCallback | None,
    ) -> Answer:
        gen = self.generator
        t0 = time.perf_counter()
        hits = self.retrieve(question, opts.k)
        retrieval_ms = (time.perf_counter() - t0) * 1000
        max_answer = opts.max_answer_tokens or gen.settings.max_answer_tokens
        cap_tokens = None
        if gen.settings.ttft_cap_s:
            speed = gen.prompt_speed()
            if speed > 0:
                cap_tokens = int(speed * gen.settings.ttft_cap_s)
        plan = plan_prompt(
            gen,
            system=system_message(preset),
            question=question,
            hits=hits,
            history=self.history,
            n_ctx=gen.n_ctx,
            max_answer_tokens=max_answer,
            edge_ordering=opts.edge_ordering,
            with_collection=len(self.collections) > 1,
            max_prompt_tokens=cap_tokens,
        )
        if on_evidence is not None:
            on_evidence(Evidence(question, "answer", hits, [], plan, retrieval_ms))
        generation = gen.generate(plan.tokens, cancel, max_tokens=plan.reserve)
        for piece in generation:
            if on_token is not None:
                on_token(piece)
        notices = list(plan.notes)
        stop = generation.stats.stop
        notices += stop_notices(stop)
        if plan.cut:
            notices.append(f"{len(plan.cut)} retrieved passage(s) did not fit and were left out.")
        if not hits:
            notices.append("No passages in the collection matched the question.")
        cited = cite(generation.text, plan.included, self._similarity)
        return Answer(
            question=question,
            mode="answer",
            text=cited.text,
            citations=cited.citations,
            included=plan.included,
            cut=plan.cut,
            documents=[],
            stop=stop,
            notices=notices,
            retrieval_ms=retrieval_ms,
            stats=generation.stats,
            model=gen.name,
            plan=plan,
            dropped_markers=cited.dropped_markers,
            raw_text=generation.text,
            sentences=cited.sentences,
        )

    def _ask_quotes(
        self,
        question: str,
        opts: AskOptions,
        cancel: CancelToken | None,
        on_evidence: EvidenceCallback | None,
        on_token: TokenCallback | None,
    ) -> Answer:
        """The exact sentences of the sources that answer the question, each with its source."""
        gen = self.generator
        t0 = time.perf_counter()
        hits = self.retrieve(question, opts.k)
        retrieval_ms = (time.perf_counter() - t0) * 1000
        plan = plan_prompt(
            gen,
            system=system_message(get_preset(self._home, QUOTES)),
            question=question,
            hits=hits,
            history=[],
            n_ctx=gen.n_ctx,
            max_answer_tokens=opts.max_answer_tokens or gen.settings.max_answer_tokens,
            edge_ordering=False,
            with_collection=len(self.collections) > 1,
        )
        if on_evidence is not None:
            on_evidence(Evidence(question, "answer", hits, [], plan, retrieval_ms))
        notices: list[str] = []
        stats = GenerationStats()
        stop = "none"
        used_model = False
        if opts.quote_pick == "model" and (cancel is None or not cancel.cancelled):
            shortlist = rank_sentences(question, plan.included, self._similarity)[:PICK_SHORTLIST]
            picked, stats = self._model_picks(question, shortlist, cancel)
            stop = stats.stop
            used_model = bool(shortlist)
            quotes = in_source_order(picked)
            if shortlist and not quotes:
                notices.append(
                    "The model picked no sentence by number, so the quotes are the sentences "
                    "closest to the question."
                )
                quotes = pick_quotes(question, plan.included, self._similarity)
        else:
            quotes = pick_quotes(question, plan.included, self._similarity)
        text = quote_text(quotes)
        if on_token is not None and text:
            on_token(text)
        if opts.quote_summary and quotes and (cancel is None or not cancel.cancelled):
            line, stats = self._quote_summary(question, text, cancel)
            stop = stats.stop
            if line:
                summary = f"\n\n{MODEL_SUMMARY_LABEL} {line}"
                text += summary
                if on_token is not None:
                    on_token(summary)
        cited = cite(text, plan.included, self._similarity)
        if not quotes:
            notices.append("No sentence in the documents answers this question.")
        return Answer(
            question=question,
            mode="answer",
            preset=QUOTES,
            text=cited.text,
            citations=cited.citations,
            included=plan.included,
            cut=plan.cut,
            documents=[],
            stop=stop,
            notices=notices,
            retrieval_ms=retrieval_ms,
            stats=stats,
            model=gen.name if opts.quote_summary or used_model else "",
            plan=plan,
            dropped_markers=cited.dropped_markers,
            raw_text=text,
            sentences=cited.sentences,
        )

    def _model_picks(
        self, question: str, shortlist: list[Quote], cancel: CancelToken | None
    ) -> tuple[list[Quote], GenerationStats]:
        """The model chooses among the numbered best sentences; only its numbers are used."""
        if not shortlist:
            return [], GenerationStats()
        gen = self.generator
        prompt = ChatMessage(
            "user",
            (
                Segment("Numbered sentences from the documents:\n"),
                Segment(defuse(numbered_sentences(shortlist)), False),
                Segment("\n\nQuestion: "),
                Segment(defuse(question), False),
                Segment(f"\n\n{PICK_INSTRUCTION}"),
            ),
        )
        generation = gen.generate(gen.prompt_tokens([prompt]), cancel, max_tokens=16)
        generation.run()
        numbers = chosen_numbers(generation.text, len(shortlist))
        return [shortlist[n - 1] for n in numbers], generation.stats

    def _quote_summary(
        self, question: str, quotes: str, cancel: CancelToken | None
    ) -> tuple[str, GenerationStats]:
        """One line by the model from the quotes alone (it is labelled as the model's)."""
        gen = self.generator
        prompt = ChatMessage(
            "user",
            (
                Segment("Quotes from the documents:\n"),
                Segment(defuse(quotes), False),
                Segment("\n\nIn one short sentence, using only these quotes, answer: "),
                Segment(defuse(question), False),
            ),
        )
        generation = gen.generate(gen.prompt_tokens([prompt]), cancel, max_tokens=48)
        generation.run()
        line = " ".join(generation.text.split("\n", 1)[0].split())
        return line, generation.stats

    def _ask_plain(
        self,
        question: str,
        opts: AskOptions,
        cancel: CancelToken | None,
        on_evidence: EvidenceCallback | None,
        on_token: TokenCallback | None,
    ) -> Answer:
        """The model alone, no documents: for general questions and for trying an adapter."""
        gen = self.generator
        plan = plan_prompt(
            gen,
            system=ChatMessage("system", (Segment(CHAT_RULES),)),
            question=question,
            hits=[],
            history=self.history,
            n_ctx=gen.n_ctx,
            max_answer_tokens=opts.max_answer_tokens or gen.settings.max_answer_tokens,
            plain=True,
        )
        if on_evidence is not None:
            on_evidence(Evidence(question, "chat", [], [], plan, 0.0))
        generation = gen.generate(plan.tokens, cancel, max_tokens=plan.reserve)
        for piece in generation:
            if on_token is not None:
                on_token(piece)
        notices = [*plan.notes, "Answered by the model alone, without your documents."]
        stop = generation.stats.stop
        notices += stop_notices(stop)
        return Answer(
            question=question,
            mode="chat",
            text=generation.text,
            citations=[],
            included=[],
            cut=[],
            documents=[],
            stop=stop,
            notices=notices,
            retrieval_ms=0.0,
            stats=generation.stats,
            model=gen.name,
            plan=plan,
            raw_text=generation.text,
        )

    def _ask_exhaustive(
        self,
        question: str,
        topic: str,
        opts: AskOptions,
        cancel: CancelToken | None,
        on_evidence: EvidenceCallback | None,
        on_token: TokenCallback | None,
    ) -> Answer:
        """Every matching document from the exhaustive scan: not limited by k or the window."""
        t0 = time.perf_counter()
        groups: list[DocumentGroup] = []
        for c in self.collections:
            groups.extend(c.search_all(topic))
        groups.sort(key=lambda g: (-g.score, g.path))
        retrieval_ms = (time.perf_counter() - t0) * 1000
        if on_evidence is not None:
            hits = [g.hits[0] for g in groups if g.hits]
            on_evidence(Evidence(question, "exhaustive", hits, groups, None, retrieval_ms))

        summaries = [DocumentSummary(g) for g in groups]
        stats = GenerationStats()
        stop = "none"
        if opts.summarise_each:
            stop = "end"
            for d in summaries:  # the map step: one short model call per document
                if cancel is not None and cancel.cancelled:
                    stop = "cancelled"
                    break
                d.summary, d.citations, s = self._summarise(topic, d.group, cancel)
                stats.prompt_tokens += s.prompt_tokens
                stats.answer_tokens += s.answer_tokens
                stats.seconds += s.seconds

        lines = [
            f"{len(groups)} document(s) match “{topic}”:"
            if groups
            else f"No document in the collection matches “{topic}”."
        ]
        multi = len(self.collections) > 1
        for i, d in enumerate(summaries, start=1):
            best = d.group.hits[0] if d.group.hits else None
            where = f", {best.location}" if best else ""
            coll = f" (collection {best.collection})" if multi and best else ""
            line = f"{i}. {d.group.path.replace(chr(92), '/').rsplit('/', 1)[-1]}{where}{coll}"
            if d.summary:
                line += f" — {d.summary}"
            elif best:
                line += f" — “{best.snippet(160)}”"
            lines.append(line)
            if on_token is not None:
                on_token(("\n" if i > 1 else lines[0] + "\n") + line)
        text = "\n".join(lines)
        return Answer(
            question=question,
            mode="exhaustive",
            text=text,
            citations=[c for d in summaries for c in d.citations],
            included=[],
            cut=[],
            documents=summaries,
            stop=stop,
            notices=[],
            retrieval_ms=retrieval_ms,
            stats=stats,
            model=self.generator.name if opts.summarise_each else "",
            plan=None,
            raw_text=text,
        )

    def _summarise(
        self, topic: str, group: DocumentGroup, cancel: CancelToken | None
    ) -> tuple[str, list[Citation], GenerationStats]:
        gen = self.generator
        preset = Preset(
            "one-line",
            "One line",
            "In one short sentence, say what source [1] says about the topic. End with [1].",
        )
        plan = plan_prompt(
            gen,
            system=system_message(preset),
            question=f"What does this document say about {topic}?",
            hits=list(group.hits[:1]),
            history=[],
            n_ctx=gen.n_ctx,
            max_answer_tokens=64,
            edge_ordering=False,
        )
        generation = gen.generate(plan.tokens, cancel, max_tokens=64)
        generation.run()
        cited = cite(generation.text, plan.included, self._similarity)
        first_line = cited.text.split("\n", 1)[0].strip()
        return first_line, cited.citations, generation.stats

    # -- history -----------------------------------------------------------------------

    def _remember(self, answer: Answer) -> None:
        if answer.stop == "cancelled" or not answer.raw_text.strip():
            return  # nothing worth keeping as context
        sent: ChatMessage | None = None
        if answer.plan is not None:
            sent = answer.plan.messages[-1]
        else:
            sent = ChatMessage(
                "user", (Segment("Question: "), Segment(defuse(answer.question), False))
            )
        turn = Turn(answer.question, answer.raw_text, sent)
        self.history.append(turn)
        if self.store is not None:
            try:
                if self.session_id is None:
                    self.session_id = self.store.create_session(
                        [c.name for c in self.collections],
                        ids=[c.id for c in self.collections],
                    )
                self.store.add_turn(
                    self.session_id, answer.question, answer.raw_text, sent, answer.to_json()
                )
            except StorageError as exc:  # the answer is still shown, with the reason
                answer.notices.append(str(exc))
        answer.session_id = self.session_id

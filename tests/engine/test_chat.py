"""Grounded answers end to end: real MiniLM, real SmolLM2 through llama.cpp, real SQLite."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Collection, EngineConfig, Library
from engine.chat import AskOptions, ChatSession, Evidence, exhaustive_topic
from engine.generate import GenSettings, load_generator
from engine.generate.base import Generator
from engine.history import ChatStore
from engine.progress import CancelToken
from tests.conftest import corpus_path


@pytest.fixture(scope="module")
def model() -> Iterator[Generator]:
    yield load_generator(settings=GenSettings(temperature=0.0, max_answer_tokens=160))


@pytest.fixture(scope="module")
def q3(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Collection]:  # type: ignore[no-untyped-def]
    from pypdf import PdfReader, PdfWriter

    docs = corpus_path("qa", "docugami_kg_rag", "sec-10-q", "data", "v1", "docs")
    home = tmp_path_factory.mktemp("q3")
    # The real filings, cut to their first pages to keep the suite's time down: Apple's up to
    # page 22 (its sales tables are on pages 10 and 19), Amazon's first 12 (its own net sales
    # statement, the distractor). Page numbers stay those of the filings.
    files = []
    for name, pages in (("2023 Q3 AAPL.pdf", 22), ("2023 Q3 AMZN.pdf", 12)):
        reader = PdfReader(docs / name)
        writer = PdfWriter()
        for page in reader.pages[:pages]:
            writer.add_page(page)
        writer.write(home / name)
        files.append(home / name)
    lib = Library(EngineConfig(home=home / "folio"), embedder=embedder)
    coll = lib.create("10-Q")
    report = coll.index(files)
    assert len(report.indexed) == 2
    yield coll
    coll.close()


@pytest.mark.slow
def test_answer_cites_the_right_document_and_page(q3: Collection, model: Generator) -> None:
    events: list[str] = []
    evidence: list[Evidence] = []

    def on_evidence(ev: Evidence) -> None:
        events.append("evidence")
        evidence.append(ev)

    session = ChatSession([q3], model)
    # The quotes preset, which Folio chooses for a model this small: the answer is made of the
    # sources' own sentences, each cited, and one line by the model (what it writes, and whether
    # it cites, differs between llama.cpp builds; the quotes and their citations do not).
    answer = session.ask(
        "What were Apple's total net sales for the three months ended July 1, 2023?",
        AskOptions(k=6, preset="quotes", quote_summary=True),
        on_evidence=on_evidence,
        on_token=lambda piece: events.append("token"),
    )
    # Evidence first: the passages reached the caller before the model's first token.
    assert events[0] == "evidence" and events.count("evidence") == 1 and "token" in events
    assert evidence[0].hits and evidence[0].plan is not None
    assert answer.text and answer.citations
    # The pages that state the quarter's total net sales ($81,797 million): the statement of
    # operations (page 4), the revenue note (10) and the MD&A tables (18, 19).
    gold_pages = {
        d.page
        for d in q3.search("Total net sales three months ended July 1, 2023 81,797", k=30)
        if d.name == "2023 Q3 AAPL.pdf" and "81,797" in d.text
    }
    assert gold_pages >= {4, 10}
    cited = {(Path(c.path).name, c.page) for c in answer.citations}
    assert all(name == "2023 Q3 AAPL.pdf" for name, _ in cited)
    assert {page for _, page in cited} & gold_pages
    for c in answer.citations:
        assert 0 <= c.start < c.end
    data = answer.to_json()
    json.dumps(data)  # serialisable as the CLI prints it
    assert data["timings"]["prompt_tokens"] <= data["context"]["prompt_limit"]  # type: ignore[index]


def write_docs(folder: Path, topic_docs: int, other_docs: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    places = ["north car park", "visitor bays", "basement garage", "loading dock", "east lot",
              "cycle shelter", "staff car park", "overflow field", "west gate", "roof deck",
              "main entrance", "side street"]  # fmt: skip
    for i in range(topic_docs):
        (folder / f"memo{i:02d}.txt").write_text(
            f"Memo {i}. Parking permits for the {places[i % len(places)]} are renewed every "
            f"January. Bring your badge to reception to collect a parking permit. "
            f"Other business: the team lunch moves to Thursday {i + 1}.",
            encoding="utf-8",
        )
    for i in range(other_docs):
        (folder / f"note{i:02d}.txt").write_text(
            f"Note {i}. The quarterly newsletter covers the new coffee machine, the choir and "
            f"the chess club tournament round {i}.",
            encoding="utf-8",
        )


def test_exhaustive_question_lists_every_document(library: Library, tmp_path: Path) -> None:
    write_docs(tmp_path / "memos", topic_docs=9, other_docs=6)
    coll = library.create("Office")
    coll.index([tmp_path / "memos"])
    assert exhaustive_topic("Which documents mention parking permits?") == "parking permits"
    assert exhaustive_topic("What is the parking policy?") is None
    session = ChatSession([coll], _NoModel())
    answer = session.ask("Which documents mention parking permits?", AskOptions(k=3))
    assert answer.mode == "exhaustive"
    listed = {Path(d.group.path).name for d in answer.documents}
    assert listed == {f"memo{i:02d}.txt" for i in range(9)}  # all 9, though k = 3
    for i in range(9):
        assert f"memo{i:02d}.txt" in answer.text
    assert answer.stop == "none"  # the list comes from the scan, not from the model
    # Top-k retrieval alone could not have answered this.
    assert len(coll.search("parking permits", k=3)) == 3


def test_exhaustive_with_one_line_summaries(
    library: Library, tmp_path: Path, model: Generator
) -> None:
    write_docs(tmp_path / "memos", topic_docs=3, other_docs=2)
    coll = library.create("Office")
    coll.index([tmp_path / "memos"])
    answer = ChatSession([coll], model).ask(
        "List all documents about parking permits", AskOptions(summarise_each=True)
    )
    assert len(answer.documents) == 3
    assert all(d.summary for d in answer.documents)
    # One model call per document, and each line cites its own document, never another one.
    assert answer.stop == "end" and answer.model == model.name
    for d in answer.documents:
        assert all(c.path == d.group.path for c in d.citations)


def test_follow_up_reuses_kv_cache_and_history_persists(
    library: Library, tmp_path: Path, model: Generator
) -> None:
    write_docs(tmp_path / "memos", topic_docs=4, other_docs=4)
    coll = library.create("Office")
    coll.index([tmp_path / "memos"])
    store = ChatStore(library.home)
    session = ChatSession([coll], model, store)
    first = session.ask("When are parking permits renewed?", AskOptions(k=3))
    second = session.ask("Where do I collect one?", AskOptions(k=3))
    # The second prompt starts with the first exchange, unchanged, so llama.cpp reuses it.
    assert second.plan is not None and second.plan.history_verbatim == 1
    assert second.stats.cached_tokens >= first.stats.prompt_tokens - 1
    assert session.session_id is not None
    # History survives a restart: a new store on the same home reopens the chat.
    store.close()
    store2 = ChatStore(library.home)
    infos = store2.sessions("Office")
    assert [s.id for s in infos] == [session.session_id]
    assert infos[0].title == "When are parking permits renewed?" and infos[0].turns == 2
    turns = store2.turns(session.session_id)
    assert [t.question for t in turns] == [first.question, second.question]
    assert turns[1].result["answer"] == second.text
    reopened = ChatSession([coll], model, store2, session.session_id)
    assert [t.question for t in reopened.history] == [first.question, second.question]
    store2.close()


def test_cancel_stops_the_answer_and_keeps_history_clean(
    library: Library, tmp_path: Path, model: Generator
) -> None:
    write_docs(tmp_path / "memos", topic_docs=2, other_docs=2)
    coll = library.create("Office")
    coll.index([tmp_path / "memos"])
    cancel = CancelToken()
    pieces: list[str] = []

    def on_token(piece: str) -> None:
        pieces.append(piece)
        if len(pieces) == 2:
            cancel.cancel()

    session = ChatSession([coll], model)
    answer = session.ask("Describe every memo in detail.", cancel=cancel, on_token=on_token)
    assert answer.stop == "cancelled"
    assert answer.stats.answer_tokens <= 4
    assert session.history == []


def test_sources_from_several_collections_are_labelled(
    library: Library, tmp_path: Path, model: Generator
) -> None:
    hr_dir, it_dir = tmp_path / "hr", tmp_path / "it"
    hr_dir.mkdir()
    it_dir.mkdir()
    (hr_dir / "leave.txt").write_text("Annual leave: staff get 25 days of holiday per year.")
    (it_dir / "laptops.txt").write_text("Laptops: staff get a new laptop every four years.")
    hr, it = library.create("HR"), library.create("IT")
    hr.index([hr_dir])
    it.index([it_dir])
    answer = ChatSession([hr, it], model).ask("What do staff get each year?", AskOptions(k=4))
    assert {s.hit.collection for s in answer.included} == {"HR", "IT"}
    assert answer.plan is not None
    sent = answer.plan.messages[-1].text
    assert re.search(r"\[\d\] leave\.txt, section 1 \(collection HR\)", sent)
    assert re.search(r"\[\d\] laptops\.txt, section 1 \(collection IT\)", sent)


class _NoModel(Generator):
    """Exhaustive listing must not need the model at all: any call fails the test."""

    name = "none"
    n_ctx = 512
    settings = GenSettings()

    def count(self, text: str) -> int:
        raise AssertionError("the model was used")

    def prompt_tokens(self, messages):  # type: ignore[no-untyped-def]
        raise AssertionError("the model was used")

    def _token_stream(self, tokens, stats, cancel=None):  # type: ignore[no-untyped-def]
        raise AssertionError("the model was used")


def test_time_to_first_token_cap_limits_the_prompt(library: Library, tmp_path: Path) -> None:
    write_docs(tmp_path / "memos", topic_docs=8, other_docs=8)
    coll = library.create("Office")
    coll.index([tmp_path / "memos"])
    capped = load_generator(settings=GenSettings(temperature=0.0, ttft_cap_s=0.01))
    speed = capped.prompt_speed()  # measured once on this machine
    assert speed > 10
    free = ChatSession([coll], capped).ask("When are permits renewed?", AskOptions(k=8))
    assert free.plan is not None
    # A 10 ms budget leaves room for no source at all: they are cut, and the answer says why.
    assert not free.included and free.cut
    assert all("time to first token" in c.reason for c in free.cut)
    assert any("left out" in n for n in free.notices)

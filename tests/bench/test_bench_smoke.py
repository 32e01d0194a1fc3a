"""The benchmark code runs and reports its figures (tiny inputs; the figures themselves come
from `folio bench` on the real corpus and are recorded in the README, not asserted here)."""

from __future__ import annotations

from pathlib import Path

from engine.bench import bench_index, bench_query


def test_bench_index_reports_ratio_memory_and_reindex(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):
        (docs / f"d{i}.md").write_text(f"# Doc {i}\n\n" + "Some words about things. " * 80)
    out = bench_index([docs], home=tmp_path / "home", many_files=20)
    assert out["chunks"] > 6
    # Both baselines encode what Folio embedded: each distinct passage (with its header) once,
    # plus one label per document.
    assert out["documents_indexed"] == 6
    assert 6 < out["texts_embedded"] <= out["chunks"] + 6
    assert out["raw_encode_seconds"] > 0 and out["raw_encode_folio_setup_seconds"] > 0
    assert out["ratio_vs_raw_encode"] > 0 and out["ratio_vs_raw_encode_folio_setup"] > 0
    assert out["peak_rss_main_mb"] > 100
    assert out["reindex_embedded"] == 0
    assert out["reindex_20_files_embedded"] == 0


def test_bench_query_reports_percentiles() -> None:
    out = bench_query([300], queries=20)
    row = out["300"]
    assert row["chunks"] == 300
    assert 0 < row["p50_ms"] <= row["p95_ms"]

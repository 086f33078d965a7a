"""Ingest at scale: a file with a few bad rows loads in one pass, with the checked path's rejects."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.errors import UserError
from pipelines.ingest import logs
from pipelines.ingest.lines import pick_lines
from pipelines.ingest.logs import run_ingest_logs
from pipelines.ingest.sources import expand
from tests.conftest import call, rows, write_jsonl

TS = "2026-03-02T10:00:00Z"


def _lines() -> list[dict]:
    """Ten calls; lines 3, 6 and 9 are bad (negative tokens, a 1.5 token count, no call_id)."""
    lines = [call(f"c{i}", f"a{i}", TS, input_tokens=10) for i in range(1, 11)]
    lines[2]["input_tokens"] = -5
    lines[5]["output_tokens"] = 1.5
    del lines[8]["call_id"]
    return lines


EXPECTED_REJECTS = [
    (3, "input_tokens: must be >= 0, got -5"),
    (6, "output_tokens: must be an integer between 0 and 10000000000, got 1.5"),
    (9, "call_id: required, missing"),
]


@pytest.fixture
def no_checked_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the checked path read the file again")

    monkeypatch.setattr(logs, "_load_checked", refuse)


def test_bad_json_lines_are_set_aside_in_one_pass_with_their_line_numbers(tmp_path: Path, no_checked_path: None):
    path = write_jsonl(tmp_path / "calls.jsonl", _lines())
    db = tmp_path / "w.duckdb"
    (result,), _ = run_ingest_logs(db, [str(path)])
    # 10 lines read = 7 loaded + 3 rejected
    assert (result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_duplicate) == (10, 7, 3, 0)
    assert rows(db, "SELECT source_row, reason FROM raw.rejects ORDER BY source_row") == EXPECTED_REJECTS
    # the text stored is the line as written
    assert rows(db, "SELECT raw_record FROM raw.rejects WHERE source_row = 3") == [(json.dumps(_lines()[2]),)]
    # the bad rows parked in raw.calls during the load are gone; the good ones keep their values
    assert rows(db, "SELECT count(*), min(load_id), sum(input_tokens) FROM raw.calls") == [(7, 1, 70)]


def test_bad_parquet_rows_are_set_aside_in_one_pass(tmp_path: Path, no_checked_path: None):
    jsonl = write_jsonl(tmp_path / "calls.jsonl", [row for i, row in enumerate(_lines()) if i != 5])
    path = tmp_path / "calls.parquet"
    with duckdb.connect() as con:  # its own connection: the module's default one is shared by every test
        con.execute(f"COPY (SELECT * FROM read_json('{jsonl}')) TO '{path}'")
    db = tmp_path / "w.duckdb"
    (result,), _ = run_ingest_logs(db, [str(path)])
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (9, 7, 2)
    # rows 3 and 8 of the Parquet file (line 6 was left out)
    assert rows(db, "SELECT source_row, reason FROM raw.rejects ORDER BY source_row") == [
        (3, "input_tokens: must be >= 0, got -5"),
        (8, "call_id: required, missing"),
    ]


def test_a_grown_file_with_calls_loaded_before_goes_to_the_checked_path(tmp_path: Path, no_checked_path: None):
    path = write_jsonl(tmp_path / "calls.jsonl", _lines())
    db = tmp_path / "w.duckdb"
    run_ingest_logs(db, [str(path)])
    assert run_ingest_logs(db, [str(path)])[0][0].status == "already loaded"
    grown = write_jsonl(tmp_path / "grown.jsonl", _lines())
    with grown.open("a") as handle:
        handle.write(json.dumps(call("c11", "a11", TS)) + "\n")
    path.unlink()
    grown.rename(path)
    # the grown file's old calls are duplicates: the checked path (here refused) counts them
    with pytest.raises(AssertionError, match="checked path"):
        run_ingest_logs(db, [str(path)])


def test_a_value_that_may_be_a_json_object_goes_to_the_checked_path(tmp_path: Path):
    lines = _lines()
    lines[0]["team"] = {"name": "x"}
    path = write_jsonl(tmp_path / "calls.jsonl", lines)
    db = tmp_path / "w.duckdb"
    (result,), _ = run_ingest_logs(db, [str(path)])
    assert result.rows_rejected == 4
    assert rows(db, "SELECT reason FROM raw.rejects WHERE source_row = 1") == [
        ("team: must be a single text or number, got a object",)
    ]


def test_pick_lines_reads_the_lines_asked_for(tmp_path: Path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"one\ntwo\nthree\nfour")  # no newline after the last line
    (source,), _ = expand([str(path)])
    assert pick_lines(source, [4, 2]) == {2: b"two", 4: b"four"}


@pytest.mark.parametrize("seed", range(5))
def test_pick_lines_finds_any_lines_across_blocks(tmp_path: Path, monkeypatch, seed: int):
    """Lines of random lengths (empty ones too) over many small blocks, any of them asked for."""
    import random

    from pipelines.ingest import lines as line_module

    rng = random.Random(seed)
    monkeypatch.setattr(line_module, "CHUNK_BYTES", 64)
    texts = [bytes(rng.choice(b"abc{}") for _ in range(rng.randint(0, 150))) for _ in range(300)]
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(texts) + (b"\n" if seed % 2 else b""))
    (source,), _ = expand([str(path)])
    wanted = [*rng.sample(range(1, len(texts) + 1), 60), 1, len(texts)]
    assert pick_lines(source, wanted) == {n: texts[n - 1] for n in wanted}


def test_an_ingest_needing_more_disk_than_is_free_stops_before_it_starts(tmp_path: Path, monkeypatch):
    path = write_jsonl(tmp_path / "calls.jsonl", _lines())
    size = path.stat().st_size
    monkeypatch.setattr(logs.shutil, "disk_usage", lambda folder: type("Usage", (), {"free": size // 4})())
    db = tmp_path / "w.duckdb"
    # JSON lines need half their size: more than the quarter said free
    with pytest.raises(UserError, match=r"needs about .* GB of disk"):
        run_ingest_logs(db, [str(path)])
    assert not db.exists()


def test_duckdb_spills_beside_the_warehouse_within_its_memory_limit(tmp_path: Path, monkeypatch):
    from pipelines.warehouse import Warehouse

    db = tmp_path / "w.duckdb"
    with Warehouse.at(db).writer("test") as con:
        assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == str(tmp_path / "w.duckdb.tmp")
    monkeypatch.setenv("ROUTELEDGER_MEMORY_LIMIT", "1GiB")
    monkeypatch.setenv("ROUTELEDGER_TEMP_DIRECTORY", str(tmp_path / "spill"))
    with Warehouse.at(db).writer("test") as con:
        assert con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone() == (
            "1.0 GiB",
            str(tmp_path / "spill"),
        )


def test_the_bench_file_with_one_percent_bad_rows_rejects_every_hundredth_line(tmp_path: Path, no_checked_path: None):
    from bench.bad_rows import main as spoil_every_hundredth

    clean = write_jsonl(tmp_path / "clean.jsonl", [call(f"c{i}", f"a{i}", TS) for i in range(1, 401)])
    bad = tmp_path / "bad.jsonl"
    spoil_every_hundredth(str(clean), str(bad))
    db = tmp_path / "w.duckdb"
    (result,), _ = run_ingest_logs(db, [str(bad)])
    # 400 lines: 396 loaded, lines 100, 200, 300 and 400 rejected (kinds 1, 2, 3, 0 in turn)
    assert (result.rows_loaded, result.rows_rejected) == (396, 4)
    assert rows(db, "SELECT source_row, split_part(reason, ':', 1) FROM raw.rejects ORDER BY source_row") == [
        (100, "ts"),
        (200, "call_id"),
        (300, "output_tokens"),
        (400, "input_tokens"),
    ]

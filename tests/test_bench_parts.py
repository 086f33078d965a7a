"""The bench's large-scale inputs: `write_call_parts` cuts `write_calls`'s stream into resumable parts."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.demo import files
from pipelines.demo.files import part_paths, write_call_parts, write_calls

END = date(2026, 11, 29)
N, PER_PART = 3_000, 700  # 5 parts: 4 of 700 calls and one of 200


def _rows(paths: list) -> pa.Table:
    return pa.concat_tables(pq.read_table(path) for path in paths)


def test_parts_add_up_to_the_single_file_stream(tmp_path):
    paths = write_call_parts(tmp_path / "parts", N, PER_PART, seed=3, end=END)
    single = pq.read_table(write_calls(tmp_path / "one.parquet", N, seed=3, end=END))

    assert [p.name for p in paths] == [f"part-0{i}.parquet" for i in range(5)]
    assert [pq.read_metadata(p).num_rows for p in paths] == [700, 700, 700, 700, 200]
    assert _rows(paths).equals(single)
    assert not list((tmp_path / "parts").glob("*.partial"))


def test_a_rerun_keeps_existing_parts_and_skips_the_weeks_before_the_first_missing_one(tmp_path, monkeypatch):
    out = tmp_path / "parts"
    paths = write_call_parts(out, N, PER_PART, seed=3, end=END)
    whole = _rows(paths)
    paths[3].unlink()
    paths[4].unlink()
    (out / "part-03.parquet.partial").write_bytes(b"an aborted run's leftover")
    kept = {p: p.stat().st_mtime_ns for p in paths[:3]}
    drawn: list[int] = []
    real = files.iter_weeks

    def counting(*args, **kwargs):
        for monday, table in real(*args, **kwargs):
            drawn.append(table.num_rows)
            yield monday, table

    monkeypatch.setattr(files, "iter_weeks", counting)
    again = write_call_parts(out, N, PER_PART, seed=3, end=END)

    assert again == paths
    assert {p: p.stat().st_mtime_ns for p in paths[:3]} == kept
    assert _rows(again).equals(whole)
    # part 3 starts at call 2,100: only the weeks from the one holding it are drawn
    assert 0 < sum(drawn) < N
    assert sum(drawn) >= N - 3 * PER_PART
    assert not (out / "part-03.parquet.partial").exists()


def test_nothing_is_generated_when_every_part_exists(tmp_path, monkeypatch):
    paths = write_call_parts(tmp_path, 1_000, 500, seed=3, end=END)
    monkeypatch.setattr(files, "iter_weeks", None)  # would fail if called
    assert write_call_parts(tmp_path, 1_000, 500, seed=3, end=END) == paths


def test_part_names_are_wide_enough_to_sort():
    assert [p.name for p in part_paths(".", 1_001, 10)[::100]] == ["part-000.parquet", "part-100.parquet"]
    assert [p.name for p in part_paths(".", 20, 10)] == ["part-00.parquet", "part-01.parquet"]

"""`make bench` above its parts threshold (bench/scale.py): the disk check, what is skipped, the comparison."""

from __future__ import annotations

import json
from collections import namedtuple
from datetime import date
from pathlib import Path

import pytest

from bench import run, scale
from bench.incremental import IncrementalResult
from pipelines import disk
from pipelines.errors import UserError

GB = 10**9
Usage = namedtuple("Usage", "total used free")


def _result(calls: int, seconds: tuple[float, float, float, float], size: int) -> IncrementalResult:
    return IncrementalResult(
        calls, calls // 100, *seconds, None, "incremental build: 1 week", [("marts.route_weekly", 0.5)],
        peak_mb={"full_ingest": 900.0, "full_build": 2000.0, "day_ingest": 300.0, "day_build": 700.0},
        warehouse_bytes=size, files=4,
    )  # fmt: skip


def test_the_disk_check_refuses_saying_what_it_needs_and_what_is_free(tmp_path, monkeypatch):
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda _: Usage(100 * GB, 70 * GB, 30 * GB))

    with pytest.raises(UserError) as refused:
        disk.check_free_disk(tmp_path / "not" / "yet", 45 * GB, "the 100,000,000-call bench")

    assert str(refused.value) == (
        f"the 100,000,000-call bench needs about 45.0 GB of disk on {tmp_path}, and 30.0 GB are free: "
        "free some space or choose another folder"
    )
    disk.check_free_disk(tmp_path, 30 * GB, "a run that fits")  # exactly what is free: no error


def test_a_parts_run_needs_the_missing_parts_the_split_last_part_and_the_warehouse_with_its_spill():
    # 100M calls, 5 parts of 10M still to write: (50M + 10M) x 46 bytes + 100M x 300 x 1.25
    assert scale.disk_needed(100_000_000, 10_000_000, 50_000_000) == 2_760_000_000 + 37_500_000_000


def test_the_parts_writer_stops_before_writing_when_the_disk_is_short(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda _: Usage(10 * GB, 10 * GB, 1 * GB // 1000))

    assert scale.main([str(tmp_path / "parts"), "1000000", "250000", "7", "2026-11-29"]) == 2

    # 1M calls: 1.25M x 46 bytes of Parquet + 1M x 375 bytes of warehouse = 432.5 MB
    assert "the 1,000,000-call bench needs about 0.4 GB of disk" in capsys.readouterr().err
    assert not (tmp_path / "parts").exists()


def test_above_the_threshold_only_the_parts_run_happens(monkeypatch):
    chosen = []
    monkeypatch.setattr(run, "main_parts", lambda n, per_part, threshold, started: chosen.append((n, per_part)) or 0)
    monkeypatch.setattr(run, "prepare_inputs", lambda n, seed: pytest.fail("the single-file inputs were written"))
    monkeypatch.setenv("BENCH_PARTS_ABOVE", "4000")

    assert run.main(["--calls", "5000", "--part-calls", "2000"]) == 0
    assert chosen == [(5000, 2000)]


def test_at_the_threshold_the_full_run_happens(monkeypatch):
    monkeypatch.setattr(run, "main_parts", lambda *_: pytest.fail("the parts run was chosen"))

    def stop(n, seed):
        raise UserError("stopped here")

    monkeypatch.setattr(run, "prepare_inputs", stop)
    assert run.main(["--calls", "5000", "--parts-above", "5000"]) == 2


def test_the_parts_run_says_what_it_skipped_and_compares_each_step_with_10m(tmp_path, monkeypatch):
    figures, results = tmp_path / "figures", tmp_path / "results.md"
    reference = _result(10_000_000, (10.0, 5.0, 1.0, 2.0), 4_400_000_000)
    scale.save_figures(reference, figures)
    parts = [tmp_path / f"part-0{i}.parquet" for i in range(4)]
    for part in parts:
        part.write_bytes(b"x" * 1000)
    monkeypatch.setattr(scale, "FIGURES", figures)
    monkeypatch.setattr(run, "RESULTS", results)
    monkeypatch.setattr(run, "DATA", tmp_path)
    monkeypatch.setattr(scale, "prepare_parts", lambda *_: (parts, 0.0))
    monkeypatch.setattr(
        run, "measure_incremental", lambda *_, **__: _result(100_000_000, (105.0, 60.0, 9.0, 22.0), 42_000_000_000)
    )
    monkeypatch.setattr(run, "_app_pages", lambda db: "\n## App pages\n")

    assert run.main_parts(100_000_000, 25_000_000, 20_000_000, started=0.0) == 0

    assert not results.exists()  # the 10M run's results stay; this run's go beside them
    text = results.with_name("results-100000000.md").read_text()
    assert "## Skipped above 20,000,000 calls" in text
    assert "- hand-written query and pandas: pandas holds every call in memory" in text
    assert "4 Parquet (zstd) files of up to 25,000,000 calls" in text
    assert "420 bytes per call" in text  # 42 GB / 100M
    assert "| reference: `build --full` with the day | skipped | |" in text
    assert "| full run: ingest (all days but the last) | 10.00 | 105.00 | 10.50x | 900 | 900 | PASS |" in text
    missed = "| full run: build (first build, in full) | 5.00 | 60.00 | 12.00x | 2,000 | 2,000 | MISS (1.20x linear) |"
    assert missed in text
    assert "| incremental day: build | 2.00 | 22.00 | 11.00x | 700 | 700 | PASS |" in text
    assert "Warehouse bytes per call: 420 now, 440 at 10,000,000 calls." in text
    saved = json.loads((figures / "100000000.json").read_text())
    assert saved["steps"]["full_build"] == {"seconds": 60.0, "peak_mb": 2000.0}
    assert "full_rebuild" not in saved["steps"]


def test_no_comparison_without_figures_at_10m():
    current = scale.figures(_result(100_000_000, (105.0, 60.0, 9.0, 22.0), 42_000_000_000))
    assert scale.comparison(current, None) == ""


def test_parts_folder_is_named_after_n_seed_and_period():
    assert scale.parts_folder(Path("d"), 100_000_000, 7, date(2026, 11, 29)) == Path(
        "d/calls-100000000-seed7-to2026-11-29.parts"
    )


def test_the_spark_step_is_skipped_saying_why_without_java_or_pyspark(tmp_path, monkeypatch):
    import bench.spark

    monkeypatch.setattr(bench.spark, "spark_missing", lambda: "no Java runtime (Spark 4 needs Java 17+)")
    monkeypatch.setattr(bench.spark, "spark_vs_duckdb", lambda *_: pytest.fail("Spark ran"))

    section = run._spark(1_000_000, tmp_path, None)

    assert "1,000,000 calls of a demo warehouse" in section
    assert section.endswith("Skipped: no Java runtime (Spark 4 needs Java 17+).\n")
    assert run._spark(0, tmp_path, None).endswith("Skipped: BENCH_SPARK_CALLS=0.\n")


def test_the_spark_step_builds_the_runs_own_warehouse_when_it_has_the_calls_asked_for(tmp_path, monkeypatch):
    import bench.spark

    built = []
    monkeypatch.setattr(bench.spark, "spark_missing", lambda: None)
    monkeypatch.setattr(bench.spark, "spark_vs_duckdb", lambda *_: pytest.fail("a demo was generated"))
    monkeypatch.setattr(
        bench.spark,
        "spark_beside_duckdb",
        lambda db, calls, work: (
            built.append((db, calls)) or bench.spark.SparkBench(calls, "local[2]", 2.0, 1.0, 50.0, [])
        ),
    )

    section = run._spark(10_000_000, tmp_path, tmp_path / "w.duckdb")

    assert built == [(tmp_path / "w.duckdb", 10_000_000)]
    assert "10,000,000 calls of this run's Parquet warehouse" in section
    assert "Spark / DuckDB build: 25.0x. The two published snapshots agree" in section

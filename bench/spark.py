"""`build --engine spark` beside the DuckDB build, value for value.

    .venv/bin/python -m bench.spark [--calls N] [--master local[2]] [--workdir DIR]

Generates an N-call demo warehouse (`routeledger demo --calls N --no-app`, default 200,000), builds it
with DuckDB, exports the lake and builds it on Spark (`build --engine spark`, each step a fresh
process, wall clock), then compares the two published snapshots mart by mart (exit 1 on a difference).
`spark_vs_duckdb(calls, workdir)` is what bench/run.py calls (`spark_beside_duckdb(db, ...)` on a
warehouse it has built: the 10M run's, with BENCH_SPARK_CALLS=10000000); the work lives under
bench/data/h-spark/ (the bench's shared data folder: only this subfolder is ours). The DuckDB build
is `build --full`: the demo has built the warehouse already, and a second build with nothing new
would do next to nothing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = ROOT / "bench" / "data" / "h-spark"
CLI = [sys.executable, "-m", "pipelines.cli"]


@dataclass(frozen=True)
class SparkBench:
    calls: int
    master: str
    duckdb_build_s: float
    lake_export_s: float
    spark_build_s: float
    differences: list[str]

    @property
    def ratio(self) -> float:
        return self.spark_build_s / self.duckdb_build_s

    def markdown(self) -> str:
        """bench/results.md's section: the two builds, the lake export, and whether the marts agree."""
        same = (
            "The two published snapshots agree, mart by mart, value for value."
            if not self.differences
            else f"**{len(self.differences)} difference(s)** between the snapshots, first: {self.differences[0]}"
        )
        return "\n".join([
            "| step | seconds |",
            "|---|---:|",
            f"| `routeledger build` (DuckDB) | {self.duckdb_build_s:.1f} |",
            f"| `routeledger lake export` | {self.lake_export_s:.1f} |",
            f"| `routeledger build --engine spark --spark-master {self.master}` | {self.spark_build_s:.1f} |",
            "",
            f"Spark / DuckDB build: {self.ratio:.1f}x. {same}",
        ]) + "\n"  # fmt: skip


def spark_missing() -> str | None:
    """Why Spark cannot run here (no pyspark, no Java), or None."""
    from pipelines.spark.build import spark_missing as missing

    return missing()


def _timed(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([*CLI, *args], cwd=ROOT, check=True, capture_output=True, text=True)
    return time.perf_counter() - started


def spark_vs_duckdb(calls: int = 200_000, workdir: Path = WORKDIR, master: str = "local[2]") -> SparkBench:
    """Time a DuckDB build and a Spark build of the same N-call demo; compare their marts."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    db = workdir / "demo.duckdb"
    subprocess.run([*CLI, "demo", "--calls", str(calls), "--no-app", "--db", str(db)], cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    return spark_beside_duckdb(db, calls, workdir, master)


def spark_beside_duckdb(db: Path, calls: int, workdir: Path, master: str = "local[2]") -> SparkBench:
    """An existing warehouse's DuckDB build (`--full`: the demo has built it already) against the Spark
    build of its lake, exported under `workdir`; compare their marts."""
    from pipelines.spark.compare import snapshot_differences
    from pipelines.warehouse import Warehouse

    workdir.mkdir(parents=True, exist_ok=True)
    spark_db, lake = workdir / "spark.duckdb", workdir / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    duckdb_build = _timed("build", "--full", "--db", str(db), "--prices", str(_catalog(db)))
    export = _timed("lake", "export", "--to", str(lake), "--db", str(db))
    spark_build = _timed(
        "build", "--engine", "spark", "--lake", str(lake), "--spark-master", master, "--db", str(spark_db)
    )
    differences = snapshot_differences(Warehouse.at(db).current_snapshot(), Warehouse.at(spark_db).current_snapshot())
    return SparkBench(calls, master, duckdb_build, export, spark_build, differences)


def _catalog(db: Path) -> Path:
    """The catalog the demo's build priced with (raw.build_catalog), so both builds price alike."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT catalog_path FROM raw.build_catalog").fetchone()
    finally:
        con.close()
    return Path(row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="scratch folder, replaced (default %(default)s)")
    args = parser.parse_args()
    result = spark_vs_duckdb(args.calls, args.workdir, args.master)
    print(
        f"{result.calls:,} calls: DuckDB build {result.duckdb_build_s:.1f}s; lake export {result.lake_export_s:.1f}s;"
    )
    print(f"Spark build ({result.master}) {result.spark_build_s:.1f}s = {result.ratio:.1f}x DuckDB")
    for line in result.differences:
        print("DIFFERENT", line)
    sys.exit(1 if result.differences else 0)


if __name__ == "__main__":
    main()

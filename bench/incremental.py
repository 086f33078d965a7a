"""An incremental day against a full run: `python -m bench.incremental --calls N`.

1. Splits N demo calls (bench/data's calls-N-seed7-...parquet, written by
   `pipelines.demo.files.write_calls` when missing) into all days but the last and the
   last day, two Parquet files (untimed).
2. Times, each in a fresh `routeledger` process, wall clock: the full run (ingest of all
   days but the last into a new warehouse, then `build`, a first build: in full), then
   the incremental day (ingest of the last day's file, then `build`: incremental), then,
   as a reference, `build --full` of the same warehouse.
3. Prints the seconds and the ratio incremental day / full run (issue 15's target: <= 10%),
   and the slowest models of the incremental build.

`bench.run` can call `measure_incremental(parquet, work)` and put its `IncrementalResult`
in bench/results.md. Timings on a busy machine are noisy: compare ratios of one run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
CATALOG = ROOT / "pricing" / "catalog.yaml"
ROUTELEDGER = [sys.executable, "-m", "pipelines.cli"]
END = date(2026, 11, 29)  # bench.run's fixed period
SEED = 7
TARGET = 0.10
MODEL_LINE = re.compile(r"^\s+(\S+)\s+table\s+[\d,]+ rows\s+([\d.]+)s")


@dataclass(frozen=True)
class IncrementalResult:
    calls: int
    day_calls: int
    full_ingest_seconds: float
    full_build_seconds: float
    day_ingest_seconds: float
    day_build_seconds: float
    full_rebuild_seconds: float  # `build --full` of the warehouse with the day, for reference
    plan: str  # what the incremental build said it did
    slowest: list[tuple[str, float]]  # the incremental build's slowest tables

    @property
    def full_seconds(self) -> float:
        return self.full_ingest_seconds + self.full_build_seconds

    @property
    def day_seconds(self) -> float:
        return self.day_ingest_seconds + self.day_build_seconds

    @property
    def ratio(self) -> float:
        return self.day_seconds / self.full_seconds

    def markdown(self) -> str:
        rows = [
            ("full run: ingest (all days but the last)", self.full_ingest_seconds),
            ("full run: build (first build, in full)", self.full_build_seconds),
            ("incremental day: ingest (the last day)", self.day_ingest_seconds),
            ("incremental day: build", self.day_build_seconds),
            ("reference: `build --full` with the day", self.full_rebuild_seconds),
        ]
        lines = [
            f"### Incremental day ({self.calls:,} calls; the last day {self.day_calls:,})",
            "",
            "| step | seconds |",
            "|---|---:|",
            *(f"| {label} | {seconds:.2f} |" for label, seconds in rows),
            "",
            f"Incremental day / full run: **{self.ratio:.1%}** (target <= {TARGET:.0%}): "
            f"{self.day_seconds:.2f}s against {self.full_seconds:.2f}s. {self.plan}.",
            "",
            "Slowest models of the incremental build: "
            + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in self.slowest),
        ]
        return "\n".join(lines) + "\n"


def split_last_day(parquet: Path, work: Path) -> tuple[Path, Path, int, int]:
    """(all days but the last, the last day, calls, the day's calls) as two Parquet files in `work`."""
    import duckdb

    work.mkdir(parents=True, exist_ok=True)
    base, day = work / "all-but-last-day.parquet", work / "last-day.parquet"
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        source = f"read_parquet('{parquet}')"
        # the last whole day (the generator's period may end with a few calls past midnight)
        last = con.execute(f"SELECT (max(ts) - INTERVAL 1 DAY)::date FROM {source}").fetchone()[0]
        for path, condition in ((base, "<"), (day, ">=")):
            con.execute(
                f"COPY (SELECT * FROM {source} WHERE ts {condition} ?::timestamptz) TO '{path}' "
                "(FORMAT parquet, COMPRESSION zstd)",
                [last.isoformat()],
            )
        calls, day_calls = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE ts >= ?::timestamptz) FROM {source}", [last.isoformat()]
        ).fetchone()
    finally:
        con.close()
    return base, day, calls, day_calls


def measure_incremental(parquet: Path, work: Path, catalog: Path = CATALOG) -> IncrementalResult:
    """The full run and the incremental day of `parquet`'s calls, in a new warehouse under `work`."""
    base, day, calls, day_calls = split_last_day(parquet, work)
    db = work / "warehouse" / "warehouse.duckdb"
    shutil.rmtree(db.parent, ignore_errors=True)
    build = ["build", "--db", str(db), "--prices", str(catalog)]
    full_ingest, _ = _timed("ingest", "logs", str(base), "--db", str(db))
    full_build, _ = _timed(*build)
    day_ingest, _ = _timed("ingest", "logs", str(day), "--db", str(db))
    day_build, said = _timed(*build)
    rebuild, _ = _timed(*build, "--full")
    plan = next((line for line in said.splitlines() if line.startswith(("incremental build", "full build"))), "")
    tables = [(m.group(1), float(m.group(2))) for m in map(MODEL_LINE.match, said.splitlines()) if m]
    slowest = sorted(tables, key=lambda t: -t[1])[:5]
    return IncrementalResult(calls, day_calls, full_ingest, full_build, day_ingest, day_build, rebuild, plan, slowest)


def calls_file(n: int) -> Path:
    """bench.run's Parquet of n calls if it exists, else one written under bench/data/h-incr/."""
    shared = DATA / f"calls-{n}-seed{SEED}-to{END.isoformat()}.parquet"
    if shared.exists():
        return shared
    own = DATA / "h-incr" / shared.name
    if not own.exists():
        from pipelines.demo.files import write_calls

        print(f"generating {own} ...", flush=True)
        partial = own.with_name(own.name + ".partial")
        write_calls(partial, n, seed=SEED, fmt="parquet", end=END)
        partial.replace(own)
    return own


def _timed(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([*ROUTELEDGER, *args], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"routeledger {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.incremental", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000_000, help="calls in the warehouse (default 10M)")
    parser.add_argument("--work", type=Path, default=DATA / "h-incr", help="where the warehouse is written")
    args = parser.parse_args(argv)
    result = measure_incremental(calls_file(args.calls), args.work / f"incremental-{args.calls}")
    print(result.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())

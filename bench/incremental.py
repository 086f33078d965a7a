"""An incremental day against a full run: `python -m bench.incremental --calls N`.

1. Splits N demo calls (bench/data's calls-N-seed7-...parquet, written by
   `pipelines.demo.files.write_calls` when missing; or a list of time-ordered part files,
   `bench.run` above its parts threshold) into all days but the last and the last day
   (the last file is split in two Parquet files, untimed; the earlier parts are ingested as
   they are).
2. Times, each in a fresh `routeledger` process, wall clock: the full run (ingest of all
   days but the last into a new warehouse, then `build`, a first build: in full), then
   the incremental day (ingest of the last day's file, then `build`: incremental), then,
   as a reference (unless skipped), `build --full` of the same warehouse. Each step's peak
   resident memory comes from the child's rusage, and the warehouse's size on disk is read
   after the incremental build.
3. Prints the seconds, peak memory, the ratio incremental day / full run (issue 15's target:
   <= 10%), the warehouse's bytes per call and the slowest models of the incremental build.

`bench.run` can call `measure_incremental(parquet or parts, work)` and put its `IncrementalResult`
in bench/results.md. Timings on a busy machine are noisy: compare ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
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
class Timed:
    seconds: float
    peak_mb: float  # the child's maximum resident set
    stdout: str


@dataclass(frozen=True)
class IncrementalResult:
    calls: int
    day_calls: int
    full_ingest_seconds: float
    full_build_seconds: float
    day_ingest_seconds: float
    day_build_seconds: float
    full_rebuild_seconds: float | None  # `build --full` of the warehouse with the day, for reference (None: skipped)
    plan: str  # what the incremental build said it did
    slowest: list[tuple[str, float]]  # the incremental build's slowest tables
    peak_mb: dict[str, float] = field(default_factory=dict)  # by STEPS key
    warehouse_bytes: int = 0  # the warehouse folder on disk after the incremental build
    files: int = 1  # input files the calls came in

    STEPS = (
        ("full_ingest", "full run: ingest (all days but the last)"),
        ("full_build", "full run: build (first build, in full)"),
        ("day_ingest", "incremental day: ingest (the last day)"),
        ("day_build", "incremental day: build"),
        ("full_rebuild", "reference: `build --full` with the day"),
    )

    def seconds(self, key: str) -> float | None:
        return getattr(self, f"{key}_seconds")

    @property
    def bytes_per_call(self) -> float:
        return self.warehouse_bytes / self.calls

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
        rows = []
        for key, label in self.STEPS:
            seconds, peak = self.seconds(key), self.peak_mb.get(key)
            if seconds is None:
                rows.append(f"| {label} | skipped | |")
            else:
                rows.append(f"| {label} | {seconds:.2f} | {'' if peak is None else f'{peak:,.0f}'} |")
        files = f" in {self.files} files" if self.files > 1 else ""
        lines = [
            f"### Incremental day ({self.calls:,} calls{files}; the last day {self.day_calls:,})",
            "",
            "| step | seconds | peak memory MB |",
            "|---|---:|---:|",
            *rows,
            "",
            f"Warehouse on disk after the incremental build: {self.warehouse_bytes / 1e9:,.2f} GB, "
            f"{self.bytes_per_call:,.0f} bytes per call ({self.bytes_per_call:,.0f} MB per million calls).",
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


def _split_in_a_child(parquet: Path, work: Path) -> tuple[Path, Path, int, int]:
    """split_last_day in a child process: DuckDB's memory in this one would be every later
    child's peak memory too (Linux counts what a child had when it forked in its peak)."""
    code = (
        "import json, sys; from pathlib import Path; from bench.incremental import split_last_day; "
        "base, day, calls, day_calls = split_last_day(Path(sys.argv[1]), Path(sys.argv[2])); "
        "print(json.dumps([str(base), str(day), calls, day_calls]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(parquet), str(work)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    base, day, calls, day_calls = json.loads(done.stdout.strip().splitlines()[-1])
    return Path(base), Path(day), int(calls), int(day_calls)


def measure_incremental(
    calls_files: Path | list[Path], work: Path, catalog: Path = CATALOG, reference: bool = True
) -> IncrementalResult:
    """The full run and the incremental day of the calls in `calls_files` (one Parquet file, or
    time-ordered parts), in a new warehouse under `work`; `reference=False` skips `build --full`."""
    parts = [calls_files] if isinstance(calls_files, Path) else list(calls_files)
    base, day, last_calls, day_calls = _split_in_a_child(parts[-1], work)
    earlier = parts[:-1]
    if earlier:
        _check_day_in_last_part(earlier[-1], day)
    calls = last_calls + sum(_parquet_rows(path) for path in earlier)
    db = work / "warehouse" / "warehouse.duckdb"
    shutil.rmtree(db.parent, ignore_errors=True)
    build = ["build", "--db", str(db), "--prices", str(catalog)]
    steps = {"full_ingest": _timed("ingest", "logs", *map(str, earlier), str(base), "--db", str(db))}
    steps["full_build"] = _timed(*build)
    steps["day_ingest"] = _timed("ingest", "logs", str(day), "--db", str(db))
    steps["day_build"] = said = _timed(*build)
    size = folder_bytes(db.parent)
    if reference:
        steps["full_rebuild"] = _timed(*build, "--full")
    lines = said.stdout.splitlines()
    plan = next((line for line in lines if line.startswith(("incremental build", "full build"))), "")
    tables = [(m.group(1), float(m.group(2))) for m in map(MODEL_LINE.match, lines) if m]
    slowest = sorted(tables, key=lambda t: -t[1])[:5]
    rebuild = steps["full_rebuild"].seconds if reference else None
    return IncrementalResult(
        calls,
        day_calls,
        *(steps[key].seconds for key in ("full_ingest", "full_build", "day_ingest", "day_build")),
        rebuild,
        plan,
        slowest,
        peak_mb={key: step.peak_mb for key, step in steps.items()},
        warehouse_bytes=size,
        files=len(parts),
    )


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.read_metadata(path).num_rows


def _check_day_in_last_part(previous: Path, day: Path) -> None:
    """The last day must lie wholly in the last part, or the earlier parts would hold some of it."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    before = pc.max(pq.read_table(previous, columns=["ts"])["ts"]).as_py()
    start = pc.min(pq.read_table(day, columns=["ts"])["ts"]).as_py()
    if before >= start:
        raise SystemExit(f"{previous} holds calls of the last day ({before} >= {start}): make the parts larger")


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under `folder` (the warehouse, its snapshots, any spill left)."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


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


def _timed(*args: str) -> Timed:
    """One `routeledger` command in a fresh process: wall clock, peak memory (its rusage), its output."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        child = subprocess.Popen([*ROUTELEDGER, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        said = out.read()
    if child.returncode != 0:
        raise SystemExit(f"routeledger {' '.join(args)} failed:\n{said}")
    return Timed(seconds, usage.ru_maxrss / 1024, said)  # Linux reports KiB


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

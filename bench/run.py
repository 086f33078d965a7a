"""`make bench`: time routeledger's ingest and build against baselines measured in the same run.

    .venv/bin/python -m bench.run [--calls N] [--repeat K] [--quiet-wait SECONDS]

N calls (BENCH_CALLS; default 10,000,000); each step run K times, the fastest counting
(BENCH_REPEAT; default 1); before each step, up to SECONDS (default 300) of waiting for
other processes to leave the CPUs idle.

1. Writes N demo calls into bench/data/ as Parquet and as JSONL, or reuses the files
   of an earlier run with the same N, seed and end date.
2. Runs every step in its own fresh process, timing it from the outside (wall clock
   around the child) and reading the child's peak RSS from its rusage:
   DuckDB's bare load of each file, `routeledger ingest logs` of each file into a new
   warehouse, `routeledger build` of the Parquet one, one hand-written DuckDB query
   and plain pandas computing what `marts.route_weekly` does; `routeledger ingest logs` of
   a LiteLLM SpendLogs CSV and of the same calls as a canonical CSV (at most ADAPTER_CALLS).
3. Times one appended day against the full ingest and build (bench/incremental.py), and
   each app page's queries through app/data.py on the build's snapshot (bench/app_pages.py).
4. Checks that the query and pandas agree with `marts.route_weekly` (exit 1 if not).
5. Writes bench/results.md (also printed): the machine, every measurement and the
   ratios against their targets.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench import report
from bench.bad_rows import EVERY as BAD_EVERY
from bench.check import check_against_mart
from bench.incremental import measure_incremental
from bench.measure import Measurement, Step, StepFailed, measure, peak_rss_mb

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results.md"
CATALOG = ROOT / "pricing" / "catalog.yaml"
PYTHON = sys.executable
ROUTELEDGER = str(Path(sys.executable).with_name("routeledger"))

DEFAULT_CALLS = 10_000_000
SEED = 7
# A fixed period, so that a rerun on another day reuses the same files.
END = date(2026, 11, 29)
DEFAULT_QUIET_WAIT = 300.0
# The adapter comparison: a LiteLLM SpendLogs CSV against the same calls as a canonical CSV.
ADAPTER_CALLS = 1_000_000


@dataclass(frozen=True)
class Inputs:
    parquet: Path
    jsonl: Path
    jsonl_bad: Path  # the JSON lines with 1% of the rows invalid (bench/bad_rows.py)
    canonical_csv: Path  # min(N, ADAPTER_CALLS) calls
    litellm_csv: Path  # the same calls as a LiteLLM SpendLogs export
    reused: bool
    seconds: float  # spent generating (0 when reused)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    started = time.perf_counter()
    n = args.calls
    print(f"routeledger benchmark: {n:,} calls, seed {SEED}, 12 weeks to {END}", flush=True)
    inputs = prepare_inputs(n, SEED)
    warm_page_cache([inputs.parquet, inputs.jsonl, inputs.jsonl_bad])

    work = DATA / f"run-{n}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    parquet_db = work / "warehouse-parquet" / "warehouse.duckdb"
    jsonl_db = work / "warehouse-jsonl" / "warehouse.duckdb"
    bad_db = work / "warehouse-jsonl-bad" / "warehouse.duckdb"
    csv_dbs = {
        "canonical": work / "warehouse-csv" / "warehouse.duckdb",
        "litellm": work / "warehouse-litellm" / "w.duckdb",
    }
    outputs = {"hand-written query": work / "hand_written_query.parquet", "pandas": work / "pandas.parquet"}
    steps = (
        _steps(inputs, work, parquet_db, jsonl_db, outputs, args.repeat)
        + _bad_rows_steps(inputs, work, bad_db)
        + _adapter_steps(inputs, csv_dbs, n)
    )
    parent_mb = peak_rss_mb()
    measurements: dict[str, Measurement] = {}
    try:
        for step in steps:
            measurements[step.key] = measure(step, work / "logs", args.repeat, args.quiet_wait)
        expected_calls = [(parquet_db, n), (jsonl_db, n), (bad_db, n - n // BAD_EVERY)]
        expected_calls += [(db, min(n, ADAPTER_CALLS)) for db in csv_dbs.values()]
        for db, expected in expected_calls:
            loaded = _count_calls(db)
            if loaded != expected:
                raise StepFailed(f"{db}: raw.calls holds {loaded:,} rows, expected {expected:,}")
    except StepFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2

    problems, agreement = check_against_mart(parquet_db, outputs)
    text = report.render(
        n=n,
        seed=SEED,
        end=END,
        inputs=inputs,
        measurements=measurements,
        agreement=agreement,
        problems=problems,
        parent_mb=parent_mb,
        total_seconds=time.perf_counter() - started,
    )
    text += _incremental(inputs.parquet, work)
    text += _app_pages(parquet_db)
    RESULTS.write_text(text)
    print()
    print(text)
    print(f"written to {RESULTS.relative_to(ROOT)}; logs of every step in {(work / 'logs').relative_to(ROOT)}")
    if problems:
        print(f"bench: CORRECTNESS CHECK FAILED: {len(problems)} mismatch(es) with marts.route_weekly", file=sys.stderr)
        for line in problems[:20]:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


def _incremental(parquet: Path, work: Path) -> str:
    """One appended day against the full run (bench/incremental.py), as a section of the results."""
    print("incremental day (bench.incremental) ...", flush=True)
    try:
        result = measure_incremental(parquet, work / "incremental")
    except SystemExit as exc:  # a routeledger step failed: say so in the results, keep the rest
        return f"\n## Incremental builds\n\nbench.incremental failed:\n\n```\n{str(exc)[-2000:]}\n```\n"
    return "\n## Incremental builds (issue 15: the day <= 10% of the full run)\n\n" + result.markdown()


def _app_pages(db: Path) -> str:
    """The app's pages timed on the build's snapshot (bench/app_pages.py), as a section of the results."""
    result = subprocess.run(
        [PYTHON, "-m", "bench.app_pages", "--db", str(db)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    body = result.stdout if result.returncode == 0 else f"bench.app_pages failed:\n\n```\n{result.stderr[-2000:]}\n```"
    return "\n## App pages: each page's queries through app/data.py on the snapshot (target <= 100 ms p95)\n\n" + body


def _steps(
    inputs: Inputs, work: Path, parquet_db: Path, jsonl_db: Path, outputs: dict[str, Path], repeat: int
) -> list[Step]:
    bare = [PYTHON, "-m", "bench.baselines", "bare"]
    bare_parquet, bare_jsonl = work / "bare-parquet.duckdb", work / "bare-jsonl.duckdb"
    return [
        Step("bare_parquet", "bare load, Parquet", "`CREATE TABLE t AS SELECT * FROM read_parquet(file)`",
             _strings(*bare, inputs.parquet, bare_parquet), lambda: _remove(bare_parquet)),
        Step("bare_jsonl", "bare load, JSONL", "`CREATE TABLE t AS SELECT * FROM read_json(file)`",
             _strings(*bare, inputs.jsonl, bare_jsonl), lambda: _remove(bare_jsonl)),
        Step("ingest_parquet", "ingest, Parquet", "`routeledger ingest logs FILE --db <new warehouse>`",
             _strings(ROUTELEDGER, "ingest", "logs", inputs.parquet, "--db", parquet_db),
             lambda: _remove(parquet_db.parent)),
        Step("ingest_jsonl", "ingest, JSONL", "`routeledger ingest logs FILE --db <new warehouse>`",
             _strings(ROUTELEDGER, "ingest", "logs", inputs.jsonl, "--db", jsonl_db),
             lambda: _remove(jsonl_db.parent)),
        Step("build", "build", "`routeledger build --db <the Parquet warehouse> --prices pricing/catalog.yaml`",
             _strings(ROUTELEDGER, "build", "--db", parquet_db, "--prices", CATALOG),
             (lambda: _as_ingested(parquet_db, work / "ingested.duckdb")) if repeat > 1 else None),
        Step("hand_written_query", "hand-written query", "one DuckDB query over raw.* -> route x week",
             _strings(PYTHON, "-m", "bench.baselines", "query", parquet_db, outputs["hand-written query"])),
        Step("pandas", "pandas", "read the Parquet (18 columns) + raw.prices/model_map, compute route x week",
             _strings(PYTHON, "-m", "bench.baselines", "pandas", inputs.parquet, parquet_db, outputs["pandas"])),
    ]  # fmt: skip


def _bad_rows_steps(inputs: Inputs, work: Path, db: Path) -> list[Step]:
    """The JSON lines with 1% bad rows (bench/bad_rows.py): the bare load keeps them (every field is
    read as DuckDB guesses it), ingest rejects them, each with its line number."""
    bare = work / "bare-jsonl-bad.duckdb"
    return [
        Step("bare_jsonl_bad", "bare load, JSONL with 1% bad rows", "`CREATE TABLE t AS SELECT * FROM read_json(file)`",
             _strings(PYTHON, "-m", "bench.baselines", "bare", inputs.jsonl_bad, bare), lambda: _remove(bare)),
        Step("ingest_jsonl_bad", "ingest, JSONL with 1% bad rows", "`routeledger ingest logs FILE --db <new db>`",
             _strings(ROUTELEDGER, "ingest", "logs", inputs.jsonl_bad, "--db", db), lambda: _remove(db.parent)),
    ]  # fmt: skip


def _adapter_steps(inputs: Inputs, dbs: dict[str, Path], n: int) -> list[Step]:
    calls = min(n, ADAPTER_CALLS)
    return [
        Step("ingest_canonical_csv", "ingest, canonical CSV", "`routeledger ingest logs FILE --db <new warehouse>`",
             _strings(ROUTELEDGER, "ingest", "logs", inputs.canonical_csv, "--db", dbs["canonical"]),
             lambda: _remove(dbs["canonical"].parent), calls),
        Step("ingest_litellm_csv", "ingest, LiteLLM CSV", "`routeledger ingest logs FILE --db <new warehouse>`",
             _strings(ROUTELEDGER, "ingest", "logs", inputs.litellm_csv, "--db", dbs["litellm"]),
             lambda: _remove(dbs["litellm"].parent), calls),
    ]  # fmt: skip


def _strings(*parts: object) -> list[str]:
    return [str(part) for part in parts]


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def _as_ingested(warehouse: Path, copy: Path) -> None:
    """Each repeated build starts from the warehouse as ingest left it: kept aside once, then put back."""
    if not copy.exists():
        shutil.copyfile(warehouse, copy)
        return
    _remove(warehouse.parent / "published")
    _remove(warehouse)
    shutil.copyfile(copy, warehouse)


def _count_calls(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET enable_progress_bar = false")
    try:
        return con.execute("SELECT count(*) FROM raw.calls").fetchone()[0]
    finally:
        con.close()


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    calls = int(os.environ.get("BENCH_CALLS") or DEFAULT_CALLS)
    repeat = int(os.environ.get("BENCH_REPEAT") or 1)
    parser.add_argument("--calls", type=int, default=calls, help=f"calls to generate (BENCH_CALLS; {calls:,})")
    parser.add_argument(
        "--repeat", type=int, default=repeat, help=f"runs of each step, the fastest counts (BENCH_REPEAT; {repeat})"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=DEFAULT_QUIET_WAIT,
        metavar="SECONDS",
        help="before each step, wait up to this long for other processes to go idle (0: do not wait)",
    )
    args = parser.parse_args(argv)
    if args.calls < 1000:
        parser.error("--calls must be at least 1000")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


# -- inputs ------------------------------------------------------------------------------


GENERATE = (
    "import sys; from datetime import date; from pipelines.demo.files import write_calls; "
    "write_calls(sys.argv[1], int(sys.argv[2]), seed=int(sys.argv[3]), fmt=sys.argv[4], "
    "end=date.fromisoformat(sys.argv[5]))"
)


# Bytes per call, measured on the 10M-call run: each input file the run still has to write,
# and the warehouses and bare-load databases of one run (Parquet, JSON lines twice, CSVs).
BYTES_PER_CALL = {"parquet": 46, "jsonl": 790, "jsonl_bad": 790, "csv": 120, "litellm": 160}
RUN_BYTES_PER_CALL = 600


def check_disk(n: int, missing: list[str]) -> None:
    """Stop before anything starts when bench/data cannot hold this run, saying how much it needs."""
    needed = n * (RUN_BYTES_PER_CALL + sum(BYTES_PER_CALL[fmt] for fmt in missing))
    free = shutil.disk_usage(DATA if DATA.exists() else ROOT).free
    if needed > free:
        raise SystemExit(
            f"bench: {n:,} calls need about {needed / 1e9:,.0f} GB on {DATA} (input files still to write and "
            f"the run's warehouses), {free / 1e9:,.0f} GB are free"
        )


def prepare_inputs(n: int, seed: int) -> Inputs:
    """The Parquet and JSONL files of n calls, written unless a previous run left them.

    The generator runs in a child process, so this one stays small (see bench.measure).
    """
    stem = DATA / f"calls-{n}-seed{seed}-to{END.isoformat()}"
    adapter_stem = DATA / f"calls-{min(n, ADAPTER_CALLS)}-seed{seed}-to{END.isoformat()}"
    paths = {
        "parquet": stem.with_suffix(".parquet"),
        "jsonl": stem.with_suffix(".jsonl"),
        "jsonl_bad": stem.with_name(stem.name + "-bad1pct.jsonl"),
        "csv": adapter_stem.with_suffix(".csv"),
        "litellm": adapter_stem.with_name(adapter_stem.name + "-litellm.csv"),
    }
    missing = [fmt for fmt, path in paths.items() if not path.exists()]
    check_disk(n, missing)
    started = time.perf_counter()
    for fmt, path in paths.items():
        if fmt in missing:
            print(f"generating {path.relative_to(ROOT)} ...", flush=True)
            partial = path.with_name(path.name + ".partial")
            if fmt == "litellm":  # written from the canonical CSV, generated just before
                command = [PYTHON, "-m", "bench.litellm", str(paths["csv"]), str(partial)]
            elif fmt == "jsonl_bad":  # written from the JSON lines, generated just before
                command = [PYTHON, "-m", "bench.bad_rows", str(paths["jsonl"]), str(partial)]
            else:
                calls = min(n, ADAPTER_CALLS) if fmt == "csv" else n
                command = [PYTHON, "-c", GENERATE, str(partial), str(calls), str(seed), fmt, END.isoformat()]
            subprocess.run(command, cwd=ROOT, check=True)
            os.replace(partial, path)  # only a complete file is ever reused
        else:
            print(f"reusing {path.relative_to(ROOT)} (same N, seed and period as an earlier run)", flush=True)
    return Inputs(
        paths["parquet"],
        paths["jsonl"],
        paths["jsonl_bad"],
        paths["csv"],
        paths["litellm"],
        reused=not missing,
        seconds=time.perf_counter() - started,
    )


def warm_page_cache(paths: list[Path]) -> None:
    """Read each input once, so every step starts from the same warm OS page cache."""
    buffer = bytearray(1 << 20)
    for path in paths:
        with path.open("rb", buffering=0) as handle:
            while handle.readinto(buffer):
                pass


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: time routeledger's ingest and build against baselines measured in the same run.

    .venv/bin/python -m bench.run [--calls N]      (or BENCH_CALLS=N; default 10,000,000)

1. Writes N demo calls into bench/data/ as Parquet and as JSONL, or reuses the files
   of an earlier run with the same N, seed and end date.
2. Runs every step in its own fresh process, timing it from the outside (wall clock
   around the child) and reading the child's peak RSS from its rusage:
   DuckDB's bare load of each file, `routeledger ingest logs` of each file into a new
   warehouse, `routeledger build` of the Parquet one, one hand-written DuckDB query
   and plain pandas computing what `marts.route_weekly` does.
3. Checks that the query and pandas agree with `marts.route_weekly` (exit 1 if not).
4. Writes bench/results.md (also printed): the machine, every measurement and the
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

import duckdb

from bench import report

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

# Half a unit in the last place of marts.route_weekly.cost_per_completed_action_usd
# (DECIMAL(18, 9)), allowed on top of the relative tolerance.
MART_ROUNDING_USD = 5e-10
COST_RELATIVE_TOLERANCE = 1e-6
RATE_TOLERANCE = 1e-9
CHECKED_RATES = ("fallback_rate", "retry_rate", "prompt_cache_hit_rate")

# Before each step, wait for other processes to use at most this many cores (sampled
# over QUIET_SAMPLE_SECONDS), for up to --quiet-wait seconds.
QUIET_CORES = 0.15
QUIET_SAMPLE_SECONDS = 2.0
DEFAULT_QUIET_WAIT = 300.0


class StepFailed(Exception):
    pass


@dataclass(frozen=True)
class Measurement:
    key: str
    label: str  # the step, as the table shows it
    timed: str  # what the child does
    seconds: float
    peak_mb: float
    cpu_seconds: float  # the child's user + system time
    other_cores: float  # CPUs kept busy by other processes meanwhile, on average
    log: Path


@dataclass(frozen=True)
class Inputs:
    parquet: Path
    jsonl: Path
    reused: bool
    seconds: float  # spent generating (0 when reused)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    started = time.perf_counter()
    n = args.calls
    print(f"routeledger benchmark: {n:,} calls, seed {SEED}, 12 weeks to {END}", flush=True)
    inputs = prepare_inputs(n, SEED)
    warm_page_cache([inputs.parquet, inputs.jsonl])

    work = DATA / f"run-{n}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    parquet_db = work / "warehouse-parquet" / "warehouse.duckdb"
    jsonl_db = work / "warehouse-jsonl" / "warehouse.duckdb"
    query_out, pandas_out = work / "hand_written_query.parquet", work / "pandas.parquet"
    bare = [PYTHON, "-m", "bench.baselines", "bare"]
    steps = [
        ("bare_parquet", "bare load, Parquet", "`CREATE TABLE t AS SELECT * FROM read_parquet(file)`",
         [*bare, inputs.parquet, work / "bare-parquet.duckdb"]),
        ("bare_jsonl", "bare load, JSONL", "`CREATE TABLE t AS SELECT * FROM read_json(file)`",
         [*bare, inputs.jsonl, work / "bare-jsonl.duckdb"]),
        ("ingest_parquet", "ingest, Parquet", "`routeledger ingest logs FILE --db <new warehouse>`",
         [ROUTELEDGER, "ingest", "logs", inputs.parquet, "--db", parquet_db]),
        ("ingest_jsonl", "ingest, JSONL", "`routeledger ingest logs FILE --db <new warehouse>`",
         [ROUTELEDGER, "ingest", "logs", inputs.jsonl, "--db", jsonl_db]),
        ("build", "build", "`routeledger build --db <Parquet warehouse> --prices pricing/catalog.yaml`",
         [ROUTELEDGER, "build", "--db", parquet_db, "--prices", CATALOG]),
        ("hand_written_query", "hand-written query", "one DuckDB query over raw.* -> route x week",
         [PYTHON, "-m", "bench.baselines", "query", parquet_db, query_out]),
        ("pandas", "pandas", "read the Parquet (18 columns) + raw.prices/model_map, compute route x week",
         [PYTHON, "-m", "bench.baselines", "pandas", inputs.parquet, parquet_db, pandas_out]),
    ]  # fmt: skip
    measurements = {}
    try:
        for key, label, timed, command in steps:
            command = [str(part) for part in command]
            measurements[key] = measure(key, label, timed, command, work / "logs", args.quiet_wait)
        for db in (parquet_db, jsonl_db):
            loaded = _count(db, "SELECT count(*) FROM raw.calls")
            if loaded != n:
                raise StepFailed(f"{db}: raw.calls holds {loaded:,} rows, expected {n:,}")
    except StepFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2

    problems, agreement = check_against_mart(parquet_db, {"hand-written query": query_out, "pandas": pandas_out})
    text = report.render(
        n=n,
        seed=SEED,
        end=END,
        inputs=inputs,
        measurements=measurements,
        agreement=agreement,
        problems=problems,
        total_seconds=time.perf_counter() - started,
    )
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


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    default = int(os.environ.get("BENCH_CALLS") or DEFAULT_CALLS)
    parser.add_argument("--calls", type=int, default=default, help=f"calls to generate (BENCH_CALLS; {default:,})")
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
    return args


# -- inputs ------------------------------------------------------------------------------


def prepare_inputs(n: int, seed: int) -> Inputs:
    """The Parquet and JSONL files of n calls, written unless a previous run left them."""
    from pipelines.demo.generator import write_calls

    stem = DATA / f"calls-{n}-seed{seed}-to{END.isoformat()}"
    paths = {"parquet": stem.with_suffix(".parquet"), "jsonl": stem.with_suffix(".jsonl")}
    missing = [fmt for fmt, path in paths.items() if not path.exists()]
    started = time.perf_counter()
    for fmt, path in paths.items():
        if fmt in missing:
            print(f"generating {path.relative_to(ROOT)} ...", flush=True)
            partial = path.with_name(path.name + ".partial")
            write_calls(partial, n, seed=seed, fmt=fmt, end=END)
            os.replace(partial, path)  # only a complete file is ever reused
        else:
            print(f"reusing {path.relative_to(ROOT)} (same N, seed and period as an earlier run)", flush=True)
    return Inputs(paths["parquet"], paths["jsonl"], reused=not missing, seconds=time.perf_counter() - started)


def warm_page_cache(paths: list[Path]) -> None:
    """Read each input once, so every step starts from the same warm OS page cache."""
    for path in paths:
        with path.open("rb") as handle:
            while handle.read(64 << 20):
                pass


# -- measuring ---------------------------------------------------------------------------


def measure(key: str, label: str, timed: str, command: list[str], logs: Path, quiet_wait: float) -> Measurement:
    """Run one step in a fresh process: wall time around it, peak RSS from its own rusage."""
    log = logs / f"{key}.log"
    wait_for_quiet(label, quiet_wait)
    print(f"{label:<22} ...", end=" ", flush=True)
    env = os.environ | {"COLUMNS": "160", "NO_COLOR": "1"}
    with log.open("w") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        busy_before = _machine_busy_seconds()
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        busy = _machine_busy_seconds() - busy_before
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        print("FAILED")
        tail = log.read_text().strip().splitlines()[-15:]
        raise StepFailed(f"{label} exited {child.returncode}; {log}:\n  " + "\n  ".join(tail))
    peak_mb = usage.ru_maxrss / 1024  # Linux reports KiB
    cpu_seconds = usage.ru_utime + usage.ru_stime
    other_cores = max(busy - cpu_seconds, 0.0) / seconds
    print(f"{seconds:8.2f} s  {peak_mb:8,.0f} MB  (other processes: {other_cores:.2f} cores)", flush=True)
    return Measurement(key, label, timed, seconds, peak_mb, cpu_seconds, other_cores, log)


def wait_for_quiet(label: str, patience: float) -> None:
    """Wait (up to `patience` seconds) until other processes leave the CPUs nearly idle.

    On a small machine a test suite running beside the benchmark doubles its times;
    `report` flags a step that ran on a busy machine anyway.
    """
    deadline = time.monotonic() + patience
    announced = False
    while True:
        before = _machine_busy_seconds()
        time.sleep(QUIET_SAMPLE_SECONDS)
        load = (_machine_busy_seconds() - before) / QUIET_SAMPLE_SECONDS
        if load <= QUIET_CORES or time.monotonic() >= deadline:
            if announced:
                print(f"{'quiet' if load <= QUIET_CORES else 'still busy, measuring anyway'}", flush=True)
            return
        if not announced:
            print(f"{label:<22} waiting for other processes to finish ({load:.1f} cores busy) ...", end=" ", flush=True)
            announced = True


def _machine_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (Linux /proc/stat; 0 elsewhere)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def _count(db: Path, sql: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


# -- correctness -------------------------------------------------------------------------


def check_against_mart(warehouse: Path, outputs: dict[str, Path]) -> tuple[list[str], list[str]]:
    """(mismatches, one summary line per output) of each output against marts.route_weekly.

    Every (week, route) must be in both; cost per completed action within 1e-6 relative
    (plus half a unit of the mart's 9th decimal), the rates within 1e-9, NULL = NULL.
    """
    metrics = ("cost_per_completed_action_usd", *CHECKED_RATES)
    columns = "week, route, " + ", ".join(f"cast({m} as double) as {m}" for m in metrics)
    cost = "cost_per_completed_action_usd"
    agrees = [
        f"coalesce(abs(m.{cost} - o.{cost}) <= {COST_RELATIVE_TOLERANCE} * abs(m.{cost}) + {MART_ROUNDING_USD}, "
        f"m.{cost} is null and o.{cost} is null)",
        *(f"coalesce(abs(m.{r} - o.{r}) <= {RATE_TOLERANCE}, m.{r} is null and o.{r} is null)" for r in CHECKED_RATES),
    ]
    con = duckdb.connect(str(warehouse), read_only=True)
    problems, agreement = [], []
    try:
        for name, path in outputs.items():
            both = f"m as (select {columns} from marts.route_weekly), o as (select {columns} from read_parquet(?))"
            rows = con.execute(
                f"""with {both}
                select coalesce(m.week, o.week), coalesce(m.route, o.route), m.route is not null,
                    o.route is not null, {", ".join(f"m.{x}, o.{x}" for x in metrics)}
                from m full join o on m.week = o.week and m.route = o.route
                where m.route is null or o.route is null or not ({" and ".join(agrees)})
                order by 1, 2""",
                [str(path)],
            ).fetchall()
            for week, route, in_mart, in_output, *values in rows:
                if not (in_mart and in_output):
                    where = "marts.route_weekly" if in_output else name
                    problems.append(f"{name}: ({week}, {route}) is missing from {where}")
                    continue
                pairs = zip(metrics, values[0::2], values[1::2], strict=True)
                shown = "; ".join(f"{metric}: mart {m!r}, {name} {o!r}" for metric, m, o in pairs if m != o)
                problems.append(f"{name}: ({week}, {route}) differs: {shown}")
            compared, cost_diff, *rate_diffs = con.execute(
                f"""with {both}
                select count(*), max(abs(m.{cost} - o.{cost}) / nullif(abs(m.{cost}), 0)),
                    {", ".join(f"max(abs(m.{r} - o.{r}))" for r in CHECKED_RATES)}
                from m join o on m.week = o.week and m.route = o.route""",
                [str(path)],
            ).fetchone()
            agreement.append(
                f"{name}: {compared} (week, route) rows compared, {len(rows)} mismatches; largest relative "
                f"difference in cost per completed action {cost_diff or 0:.1e}, "
                f"largest rate difference {max(d or 0 for d in rate_diffs):.1e}"
            )
    finally:
        con.close()
    return problems, agreement


if __name__ == "__main__":
    sys.exit(main())

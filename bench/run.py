"""`make bench`: time routeledger's ingest and build against baselines measured in the same run.

    .venv/bin/python -m bench.run [--calls N] [--repeat K] [--quiet-wait SECONDS]
                                  [--parts-above M] [--part-calls P]

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
   ratios against their targets; and bench/figures/N.json, what a run at another N compares
   its incremental steps against (bench/scale.py).
6. Times `build --engine spark` (local[2]) beside the DuckDB build of a demo of SPARK_CALLS
   calls (BENCH_SPARK_CALLS, default 1M; bench/spark.py), when Java and pyspark are present.

Above M calls (BENCH_PARTS_ABOVE; default 20M) the run is bench/scale.py's: Parquet part
files of P calls (BENCH_PART_CALLS; default 10M), the incremental measurement and the app
pages only; what it skips, and why, is printed and written in the results.
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

from bench import report, scale
from bench.bad_rows import EVERY as BAD_EVERY
from bench.check import check_against_mart
from bench.incremental import IncrementalResult, measure_incremental
from bench.measure import Measurement, Step, StepFailed, measure, peak_rss_mb
from pipelines.disk import check_free_disk
from pipelines.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
# Inputs and scratch (BENCH_DATA: another folder, e.g. a helper's own under the shared bench/data).
DATA = Path(os.environ.get("BENCH_DATA") or ROOT / "bench" / "data")
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
# The demo `build --engine spark` runs on beside the DuckDB build (bench/spark.py): 1M by default.
# At 1M, local[2] took 2,760 s against DuckDB's 95 s (29x, on a busy machine, 2026-12-03), so 10M,
# hours, is opt-in (BENCH_SPARK_CALLS=10000000: the 10M run's own warehouse).
SPARK_CALLS = 1_000_000


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
    try:
        if n > args.parts_above:
            return main_parts(n, args.part_calls, args.parts_above, started)
        inputs = prepare_inputs(n, SEED)
    except UserError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
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
    text += _spark(args.spark_calls, work, parquet_db if args.spark_calls == n else None)
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


def main_parts(n: int, per_part: int, threshold: int, started: float) -> int:
    """The run above `threshold` calls (bench/scale.py): part files, the incremental steps, the app pages."""
    print(scale.skipped_section(n, threshold), flush=True)
    parts, generating = scale.prepare_parts(DATA, n, per_part, SEED, END)
    work = DATA / f"run-{n}"
    shutil.rmtree(work, ignore_errors=True)
    section, result = _incremental_result(parts, work, reference=False)
    lines = [
        *report.header(
            n,
            f"The whole run took {report._duration(time.perf_counter() - started)}, "
            f"{report._duration(generating)} of it writing the input files.",
        ),
        "## Data",
        "",
        f"- {n:,} calls, seed {SEED}, 12 ISO weeks ending {END}, from `pipelines.demo.files.write_call_parts`: "
        f"{len(parts)} Parquet (zstd) files of up to {per_part:,} calls in `{report._relative(parts[0].parent)}`, "
        f"{sum(p.stat().st_size for p in parts) / 1e6:,.0f} MB.",
        "",
        scale.skipped_section(n, threshold),
        section,
    ]
    if result is not None:
        lines.append(scale.comparison(scale.figures(result), scale.load_figures(scale.REFERENCE_CALLS)))
        lines.append(_app_pages(work / "incremental" / "warehouse" / "warehouse.duckdb"))
    text = "\n".join(lines)
    results = RESULTS.with_name(f"results-{n}.md")  # beside the 10M run's results.md, not over them
    results.write_text(text)
    print()
    print(text)
    print(f"written to {report._relative(results)}")
    return 0 if result is not None else 2


def _incremental(parquet: Path, work: Path) -> str:
    """One appended day against the full run (bench/incremental.py), as a section of the results."""
    section, result = _incremental_result(parquet, work, reference=True)
    if result is not None and result.calls != scale.REFERENCE_CALLS:
        section += "\n" + scale.comparison(scale.figures(result), scale.load_figures(scale.REFERENCE_CALLS))
    return section


def _incremental_result(
    calls_files: Path | list[Path], work: Path, reference: bool
) -> tuple[str, IncrementalResult | None]:
    """bench/incremental.py's section of the results, its figures saved in bench/figures/ (None: it failed)."""
    print("incremental day (bench.incremental) ...", flush=True)
    try:
        result = measure_incremental(calls_files, work / "incremental", reference=reference)
    except SystemExit as exc:  # a routeledger step failed: say so in the results, keep the rest
        return f"\n## Incremental builds\n\nbench.incremental failed:\n\n```\n{str(exc)[-2000:]}\n```\n", None
    scale.save_figures(result)
    heading = "\n## Incremental builds (issue 15: the day <= 10% of the full run)\n\n"
    return heading + result.markdown(), result


def _spark(calls: int, work: Path, built: Path | None) -> str:
    """`build --engine spark` beside the DuckDB build (bench/spark.py), when Java and pyspark are here:
    of the run's own warehouse `built` when it has the calls asked for, else of a demo of `calls`."""
    from bench.spark import spark_beside_duckdb, spark_missing, spark_vs_duckdb

    source = "this run's Parquet warehouse" if built else "a demo warehouse (`routeledger demo`)"
    heading = f"\n## Spark: `build --engine spark` (local[2]) beside the DuckDB build, {calls:,} calls of {source}\n\n"
    if calls <= 0:
        return heading + "Skipped: BENCH_SPARK_CALLS=0.\n"
    missing = spark_missing()
    if missing:
        print(f"spark: skipped, {missing}", flush=True)
        return heading + f"Skipped: {missing}.\n"
    print(f"spark vs duckdb at {calls:,} calls (bench.spark) ...", flush=True)
    try:
        if built is None:
            result = spark_vs_duckdb(calls, work / "spark")
        else:
            result = spark_beside_duckdb(built, calls, work / "spark")
    except subprocess.CalledProcessError as exc:
        tail = ((exc.stdout or "") + (exc.stderr or ""))[-2000:]
        return heading + f"bench.spark failed: {exc}\n\n```\n{tail}\n```\n"
    return heading + result.markdown()


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
        "--parts-above",
        type=int,
        default=int(os.environ.get("BENCH_PARTS_ABOVE") or scale.PARTS_ABOVE),
        metavar="M",
        help="above M calls: Parquet part files and the incremental steps only (BENCH_PARTS_ABOVE; %(default)s)",
    )
    parser.add_argument(
        "--part-calls",
        type=int,
        default=int(os.environ.get("BENCH_PART_CALLS") or scale.PART_CALLS),
        metavar="P",
        help="calls per part file above --parts-above (BENCH_PART_CALLS; %(default)s)",
    )
    parser.add_argument(
        "--spark-calls",
        type=int,
        default=int(os.environ.get("BENCH_SPARK_CALLS") or SPARK_CALLS),
        help="calls of the Spark build's demo, 0 to skip it (BENCH_SPARK_CALLS; %(default)s)",
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
    if args.part_calls < 1000:
        parser.error("--part-calls must be at least 1000")
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
    check_free_disk(DATA, needed, f"the {n:,}-call bench (input files still to write and the run's warehouses)")


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

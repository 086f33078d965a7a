"""bench/results.md: the machine, the data, every measurement and the ratios against their targets."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.measure import Measurement
    from bench.run import Inputs


@dataclass(frozen=True)
class Ratio:
    name: str
    slower: str  # the step on top of the ratio
    faster: str  # the step below it
    target: float
    at_most: bool  # target is a ceiling (<=) or a floor (>=)
    step_to_speed_up: str  # the routeledger step a MISS asks to make faster


RATIOS = (
    Ratio("ingest / bare load, Parquet", "ingest_parquet", "bare_parquet", 1.3, True, "ingest_parquet"),
    Ratio("ingest / bare load, JSONL", "ingest_jsonl", "bare_jsonl", 1.3, True, "ingest_jsonl"),
    Ratio("ingest / bare load, JSONL with 1% bad rows", "ingest_jsonl_bad", "bare_jsonl_bad", 1.5, True,
          "ingest_jsonl_bad"),
    Ratio("build / hand-written query", "build", "hand_written_query", 2.0, True, "build"),
    Ratio("pandas / build (build is this many times faster)", "pandas", "build", 5.0, False, "build"),
    Ratio("ingest LiteLLM CSV / canonical CSV, same calls", "ingest_litellm_csv", "ingest_canonical_csv", 1.5, True,
          "ingest_litellm_csv"),
)  # fmt: skip

DISTURBED_CORES = 0.25  # other processes' load above which a step's time is flagged
BUILT_MODEL = re.compile(r"^\s+(\w+\.\w+)\s+(table|view)\s+(.+?)\s+([\d.]+)s\s*$")
AUDITS_PASSED = re.compile(r"^(\d+) audits passed in ([\d.]+)s$")
AUDITS_TARGET = 0.05  # the build's audits cost under 5% of the build


def render(
    *,
    n: int,
    seed: int,
    end: date,
    inputs: Inputs,
    measurements: dict[str, Measurement],
    agreement: list[str],
    problems: list[str],
    parent_mb: float,
    total_seconds: float,
) -> str:
    repeats = max(len(m.runs) for m in measurements.values())
    waited = sum(sum(m.waits) for m in measurements.values())
    generated = (
        "reused from an earlier run (same N, seed and period)"
        if inputs.reused
        else f"generated in this run ({inputs.seconds:.0f} s)"
    )
    lines = [
        *header(
            n,
            f"The whole run took {_duration(total_seconds)}: "
            + ("input files reused, " if inputs.reused else f"{_duration(inputs.seconds)} writing the input files, ")
            + f"{_duration(waited)} waiting for other processes to leave the machine idle, the rest measuring "
            "and checking.",
        ),
        "## Data",
        "",
        f"- {n:,} calls, seed {seed}, 12 ISO weeks ending {end}, from `pipelines.demo.files.write_calls`; "
        f"files {generated}.",
        f"- Parquet (zstd): `{_relative(inputs.parquet)}`, {_mb(inputs.parquet.stat().st_size)} MB",
        f"- JSONL: `{_relative(inputs.jsonl)}`, {_mb(inputs.jsonl.stat().st_size)} MB",
        f"- Canonical CSV of {_calls(measurements, 'ingest_canonical_csv', n):,} calls (generated alike): "
        f"`{_relative(inputs.canonical_csv)}`, {_mb(inputs.canonical_csv.stat().st_size)} MB",
        f"- The same calls as a LiteLLM SpendLogs CSV (`bench/litellm.py`): `{_relative(inputs.litellm_csv)}`, "
        f"{_mb(inputs.litellm_csv.stat().st_size)} MB",
        "",
        "## Measurements",
        "",
        "Each step runs in its own fresh process. Seconds: wall clock around the process, start-up "
        "included; peak memory: the process's maximum resident set; CPU: its user + system seconds (both "
        "from its rusage); other load: CPUs kept busy by other processes during the step (from "
        "/proc/stat), near 0 when the figures are clean."
        + (f" Each step ran {repeats} times; the fastest run is shown." if repeats > 1 else ""),
        "",
        "| step | what runs | seconds | calls/s | peak memory MB | CPU s | other load, cores |",
        "|---|---|---:|---:|---:|---:|---:|",
        *(_measurement_row(m, n) for m in measurements.values()),
        *_disturbed(measurements),
        "",
        "## Ratios (against baselines of this run)",
        "",
        "| ratio | measured | target | result |",
        "|---|---:|---:|---|",
        *(_ratio_row(r, measurements) for r in RATIOS if r.slower in measurements and r.faster in measurements),
        "",
        "## Correctness against `marts.route_weekly`",
        "",
        "Cost per completed action within 1e-6 relative (plus 5e-10 USD, half a unit of the mart's "
        "DECIMAL(18, 9)), fallback, retry and prompt-cache hit rates within 1e-9, every (week, route) "
        "in both.",
        "",
        *(f"- {line}" for line in agreement),
        "- " + ("**FAILED**: " + f"{len(problems)} mismatch(es), first: {problems[0]}" if problems else "PASS"),
        "",
        "## Where the time goes",
        "",
        *_ingest_breakdown(measurements),
        "",
        *_build_breakdown(measurements["build"]),
        "",
        "## How it is measured",
        "",
        f"- The benchmark's own process held {parent_mb:,.0f} MB when it started the steps (Linux passes "
        "a parent's peak resident set on to its children, so no child can show less).",
        "- Both input files are read once before the first step, so every step starts from the same warm "
        "OS page cache; each warehouse and database file is new.",
        "- Bare loads: `duckdb.connect(new file)`, the one `CREATE TABLE ... AS SELECT * FROM "
        "read_parquet/read_json(file)` with DuckDB's defaults, `close()`.",
        "- Ingest and build: the installed `routeledger` command, as a user runs it (CLI start-up, "
        "validation, sha256, load bookkeeping, publishing the snapshot all included).",
        "- Hand-written query: `bench/baselines.py` `HAND_WRITTEN_QUERY`, one SELECT over `raw.calls`, "
        "`raw.prices`, `raw.model_map` of the built warehouse (read-only), computing cost per completed "
        "action, fallback, retry and prompt-cache hit rate per (ISO week, route) with the definitions of "
        "`sql/marts/route_weekly.sql`; its result is written to Parquet for the check.",
        "- pandas: `pd.read_parquet` of the 18 columns the computation needs (of the file's 35; what an "
        "analyst would read), `raw.prices`/`raw.model_map` from the warehouse, then merges and groupbys "
        "(no row loops), result to Parquet. Timing includes reading.",
        "- Calls/s is the step's calls divided by its seconds (N, or the adapter files' calls).",
        "",
    ]
    return "\n".join(lines)


def header(n: int, took: str) -> list[str]:
    """The results' title, what ran and when (`took`: how long, and on what), the code and the machine."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        "# routeledger benchmark",
        "",
        f"`make bench` (`python -m bench.run --calls {n}`), {now}. {took}",
        "",
        f"Code: {_code_version()}.",
        "",
        "## Machine",
        "",
        *_machine(),
        "",
    ]


def _calls(measurements: dict[str, Measurement], key: str, n: int) -> int:
    return (measurements[key].step.calls if key in measurements else None) or n


def _measurement_row(m: Measurement, n: int) -> str:
    n = m.step.calls or n
    best = m.best
    seconds = f"{best.seconds:.2f}"
    if len(m.runs) > 1:
        seconds += " (" + ", ".join(f"{run.seconds:.2f}" for run in m.runs) + ")"
    return (
        f"| {m.label} | {m.step.timed} | {seconds} | {n / best.seconds:,.0f} | {best.peak_mb:,.0f} "
        f"| {best.cpu_seconds:.1f} | {best.other_cores:.2f} |"
    )


def _disturbed(measurements: dict[str, Measurement]) -> list[str]:
    busy = [m for m in measurements.values() if m.best.other_cores > DISTURBED_CORES]
    if not busy:
        return []
    steps = ", ".join(f"{m.label} ({m.best.other_cores:.2f} cores)" for m in busy)
    return [
        "",
        f"**Other processes were busy during: {steps}.** Those figures are pessimistic; rerun on a quiet machine.",
    ]


def _code_version() -> str:
    """The commit measured, and whether the code that runs (pipelines/, sql/, pricing/) differed from it."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "pipelines", "sql", "pricing"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    if not changed:
        return f"commit {commit}"
    files = ", ".join(line[3:] for line in changed[:6]) + (", ..." if len(changed) > 6 else "")
    return f"commit {commit} with uncommitted changes to {files}"


def _machine() -> list[str]:
    import duckdb

    return [
        f"- CPU: {_cpu_model()}, {os.cpu_count()} cores",
        f"- RAM: {_ram_gib():.1f} GiB",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}, DuckDB {duckdb.__version__} (default threads and memory "
        f"limit), pandas {version('pandas')}, pyarrow {version('pyarrow')}",
    ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _ram_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def _ratio_row(ratio: Ratio, measurements: dict[str, Measurement]) -> str:
    slower, faster = measurements[ratio.slower].seconds, measurements[ratio.faster].seconds
    value = slower / faster
    passed = value <= ratio.target if ratio.at_most else value >= ratio.target
    target = f"{'<=' if ratio.at_most else '>='} {ratio.target:g}x"
    result = "PASS"
    if not passed:
        # the time the routeledger step would have to take to meet the target
        step = measurements[ratio.step_to_speed_up]
        allowed = ratio.target * faster if ratio.at_most else slower / ratio.target
        result = (
            f"MISS: {step.label} takes {step.seconds:.2f} s, the target allows {allowed:.2f} s "
            f"({(step.seconds - allowed) / step.seconds:.0%} too slow)"
        )
    return f"| {ratio.name} | {value:.2f}x | {target} | {result} |"


def _ingest_breakdown(measurements: dict[str, Measurement]) -> list[str]:
    """Ingest's own seconds for the load (its summary table) beside the process's wall time."""
    lines = ["Ingest: seconds the CLI reports for the file's load (validation, insert, checks, commit) "
             "against the whole process."]  # fmt: skip
    keys = ("ingest_parquet", "ingest_jsonl", "ingest_jsonl_bad", "ingest_canonical_csv", "ingest_litellm_csv")
    for key in (key for key in keys if key in measurements):
        m = measurements[key]
        reported = _ingest_seconds(_best_run_output(m))
        if reported is None:
            lines.append(f"- {m.label}: {m.seconds:.2f} s in all (the CLI's own figure was not found in {m.log})")
        else:
            lines.append(
                f"- {m.label}: {m.seconds:.2f} s in all, {reported:.2f} s reported for the load, "
                f"{m.seconds - reported:.2f} s start-up, layout check and exit"
            )
    return lines


def _best_run_output(m: Measurement) -> list[str]:
    """The lines the fastest run printed (the log holds every run, each after a `$ command` line)."""
    runs: list[list[str]] = []
    for line in m.log.read_text().splitlines():
        if line.startswith("$ "):
            runs.append([])
        elif runs:
            runs[-1].append(line)
    index = m.runs.index(m.best)
    return runs[index] if index < len(runs) else []


def _ingest_seconds(output: list[str]) -> float | None:
    for line in output:
        cells = [c.strip() for c in re.split(r"[│|]", line) if c.strip()]
        formats = ("parquet", "jsonl", "csv", "litellm.csv")
        if len(cells) >= 8 and cells[1] in formats and re.fullmatch(r"[\d.]+", cells[-1]):
            return float(cells[-1])
    return None


def _build_breakdown(build: Measurement) -> list[str]:
    """The build's per-model seconds as `routeledger build` prints them, and what is left."""
    models = [match.groups() for line in _best_run_output(build) if (match := BUILT_MODEL.match(line))]
    if not models:
        return [f"Build: per-model times not found in {build.log}."]
    in_models = sum(float(seconds) for *_, seconds in models)
    lines = [
        "Build, per model as `routeledger build` prints it:",
        "",
        "| model | kind | rows | seconds | share of build |",
        "|---|---|---:|---:|---:|",
    ]
    for name, kind, rows, seconds in models:
        lines.append(f"| {name} | {kind} | {rows} | {float(seconds):.2f} | {float(seconds) / build.seconds:.0%} |")
    audits = [match.groups() for line in _best_run_output(build) if (match := AUDITS_PASSED.match(line.strip()))]
    audit_seconds = sum(float(seconds) for _, seconds in audits)
    if audits:
        share = audit_seconds / build.seconds
        verdict = "met" if share < AUDITS_TARGET else "**MISSED**"
        lines.append(f"| {audits[0][0]} audits, in the build's transaction | | | {audit_seconds:.2f} | {share:.1%} |")
    rest = build.seconds - in_models - audit_seconds
    lines.append(
        f"| everything else (start-up, prices, model map, publishing the snapshot) | | | {rest:.2f} "
        f"| {rest / build.seconds:.0%} |"
    )
    if audits:
        lines += ["", f"Audits cost {share:.1%} of the build (target: under {AUDITS_TARGET:.0%}): {verdict}."]
    return lines


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f}"


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"

"""`make bench` above PARTS_ABOVE calls: Parquet part files and the incremental measurement only.

At 100M calls one JSON-lines file would take about 80 GB and a pandas DataFrame more memory
than the machine has, so above the threshold (BENCH_PARTS_ABOVE, default 20M) `bench.run`:

1. checks that the disk holds the run (the parts still to write, the warehouse at
   `pipelines.disk.WAREHOUSE_BYTES_PER_CALL` with its spill margin, the last part's
   split), and stops before starting, saying how much it needs and how much is free;
2. writes the calls as Parquet part files of BENCH_PART_CALLS rows (default 10M) with
   `pipelines.demo.files.write_call_parts`, resumable (both in a child process:
   `python -m bench.scale FOLDER N PER_PART SEED END`);
3. runs `bench.incremental` on the parts (ingest of all days but the last, a full build, the
   last day's ingest, the incremental build: each step a fresh process, its wall clock and
   peak memory), then the app pages on the snapshot;
4. writes bench/results.md: what was skipped and why, the steps, peak memory, the warehouse's
   size per million calls, and each step against the same step at 10M calls when
   bench/figures/10000000.json (written by every `make bench`) holds it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.disk import check_free_disk, warehouse_bytes
from pipelines.errors import UserError

if TYPE_CHECKING:
    from bench.incremental import IncrementalResult

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "bench" / "figures"
PARTS_ABOVE = 20_000_000
PART_CALLS = 10_000_000
PARQUET_BYTES_PER_CALL = 46  # zstd, measured on the 10M-call file
REFERENCE_CALLS = 10_000_000
LINEAR_SLACK = 1.1  # a step at k times the calls may take 1.1 k times as long (11x at 100M against 10M)

# What `bench.run` measures at smaller sizes and leaves out above PARTS_ABOVE, and why.
SKIPPED = (
    ("JSON-lines ingest and its bare load", "the file would take about 790 bytes a call (79 GB at 100M)"),
    ("JSON lines with 1% bad rows", "a second JSON-lines file of the same size"),
    ("bare Parquet load", "a second copy of every call on disk; the 10M run measures ingest against it"),
    ("canonical and LiteLLM CSV ingest", "adapter overhead does not depend on the warehouse's size"),
    ("hand-written query and pandas", "pandas holds every call in memory (6 GB at 10M)"),
    ("correctness check against marts.route_weekly", "it compares the hand-written query's and pandas' results"),
)


def parts_folder(data: Path, n: int, seed: int, end: date) -> Path:
    return data / f"calls-{n}-seed{seed}-to{end.isoformat()}.parts"


def disk_needed(n: int, per_part: int, missing_calls: int) -> int:
    """Bytes a parts run still needs: the parts to write, the warehouse while built, the last part's split."""
    return (missing_calls + min(n, per_part)) * PARQUET_BYTES_PER_CALL + warehouse_bytes(n)


def prepare_parts(data: Path, n: int, per_part: int, seed: int, end: date) -> tuple[list[Path], float]:
    """The part files of n calls, the missing ones written after a disk check; and the seconds spent.

    Both happen in a child process (`write_parts`), so this one stays small (see bench.measure).
    """
    folder = parts_folder(data, n, seed, end)
    started = time.perf_counter()
    command = [sys.executable, "-m", "bench.scale", str(folder), str(n), str(per_part), str(seed), end.isoformat()]
    done = subprocess.run(command, cwd=ROOT, check=False)
    if done.returncode == 2:
        raise UserError("the part files were not written (the reason is above)")
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, command)
    return sorted(folder.glob("part-*.parquet")), time.perf_counter() - started


def write_parts(folder: Path, n: int, per_part: int, seed: int, end: date) -> list[Path]:
    """Check the disk for the whole run, then write the missing part files (`write_call_parts`)."""
    from pipelines.demo.files import part_paths, write_call_parts

    paths = part_paths(folder, n, per_part)
    missing = [i for i, path in enumerate(paths) if not path.exists()]
    missing_calls = sum(min(per_part, n - i * per_part) for i in missing)
    check_free_disk(folder, disk_needed(n, per_part, missing_calls), f"the {n:,}-call bench")
    if missing:
        print(f"generating {len(missing)} of {len(paths)} part files in {folder} ...", flush=True)
    else:
        print(f"reusing the {len(paths)} part files in {folder}", flush=True)
    return write_call_parts(folder, n, per_part, seed=seed, end=end)


def figures(result: IncrementalResult) -> dict:
    """What a later run at another scale compares against."""
    steps = {
        key: {"seconds": result.seconds(key), "peak_mb": result.peak_mb.get(key)}
        for key, _ in result.STEPS
        if result.seconds(key) is not None
    }
    return {
        "calls": result.calls,
        "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "steps": steps,
        "bytes_per_call": round(result.bytes_per_call, 1),
    }


def save_figures(result: IncrementalResult, folder: Path | None = None) -> Path:
    folder = folder or FIGURES
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.calls}.json"
    path.write_text(json.dumps(figures(result), indent=2) + "\n")
    return path


def load_figures(calls: int, folder: Path | None = None) -> dict | None:
    path = (folder or FIGURES) / f"{calls}.json"
    return json.loads(path.read_text()) if path.exists() else None


def comparison(current: dict, reference: dict | None) -> str:
    """Each step against the same step of a smaller run (issue 15: at most 1.1x the calls' ratio)."""
    if reference is None or reference["calls"] == current["calls"]:
        return ""
    factor = current["calls"] / reference["calls"]
    allowed = factor * LINEAR_SLACK
    lines = [
        f"### Against {reference['calls']:,} calls (measured {reference['measured']})",
        "",
        f"{factor:g} times the calls; target: each step at most {allowed:.3g} times as long "
        f"({LINEAR_SLACK:g} x {factor:g}).",
        "",
        f"| step | seconds at {reference['calls']:,} | seconds now | ratio | peak MB then | peak MB now | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    from bench.incremental import IncrementalResult

    for key, label in IncrementalResult.STEPS:
        then, now = reference["steps"].get(key), current["steps"].get(key)
        if not then or not now:
            continue
        ratio = now["seconds"] / then["seconds"]
        verdict = "PASS" if ratio <= allowed else f"MISS ({ratio / factor:.2f}x linear)"
        lines.append(
            f"| {label} | {then['seconds']:.2f} | {now['seconds']:.2f} | {ratio:.2f}x | {_mb(then['peak_mb'])} "
            f"| {_mb(now['peak_mb'])} | {verdict} |"
        )
    lines += [
        "",
        f"Warehouse bytes per call: {current['bytes_per_call']:,.0f} now, {reference['bytes_per_call']:,.0f} at "
        f"{reference['calls']:,} calls.",
    ]
    return "\n".join(lines) + "\n"


def skipped_section(n: int, threshold: int) -> str:
    lines = [
        f"## Skipped above {threshold:,} calls",
        "",
        f"{n:,} calls are more than BENCH_PARTS_ABOVE ({threshold:,}): the inputs are Parquet part files only, "
        "and only the incremental measurement (ingest, full build, one more day, incremental build) and the "
        "app pages run. Left out:",
        "",
        *(f"- {step}: {why}." for step, why in SKIPPED),
    ]
    return "\n".join(lines) + "\n"


def _mb(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def main(argv: list[str]) -> int:
    """`python -m bench.scale FOLDER N PER_PART SEED END`: `write_parts`; exit 2 when the disk is short."""
    folder, n, per_part, seed, end = argv
    try:
        write_parts(Path(folder), int(n), int(per_part), int(seed), date.fromisoformat(end))
    except UserError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Timing one benchmark step: a fresh child process, its wall time, peak memory and CPU.

The child's peak resident set comes from its own rusage (`os.wait4`). Linux carries a
process's high-water RSS across fork and exec, so a child can never report less than
its parent held when it was started: the parent (`bench.run`) stays small, generating
data in a child too and importing DuckDB only once the steps are done.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # every step runs from the repository root

# Before each step, wait for other processes to use at most QUIET_CORES, sampled over
# QUIET_SAMPLE_SECONDS, for up to the run's --quiet-wait.
QUIET_CORES = 0.15
QUIET_SAMPLE_SECONDS = 5.0


class StepFailed(Exception):
    pass


@dataclass(frozen=True)
class Step:
    key: str
    label: str  # as the table shows it
    timed: str  # what the child does
    command: list[str]
    before: Callable[[], None] | None = None  # run before every repetition, untimed: a fresh start
    calls: int | None = None  # the calls the step handles, when not the run's N


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    cpu_seconds: float  # the child's user + system time
    other_cores: float  # CPUs kept busy by other processes meanwhile, on average


@dataclass(frozen=True)
class Measurement:
    step: Step
    runs: list[Run] = field(default_factory=list)
    log: Path | None = None
    waits: list[float] = field(default_factory=list)  # seconds spent waiting for a quiet machine

    @property
    def best(self) -> Run:
        return min(self.runs, key=lambda run: run.seconds)

    @property
    def label(self) -> str:
        return self.step.label

    @property
    def seconds(self) -> float:
        return self.best.seconds


def measure(step: Step, logs: Path, repeat: int, quiet_wait: float) -> Measurement:
    """Run the step `repeat` times, each in a fresh process; the fastest run counts."""
    measurement = Measurement(step, log=logs / f"{step.key}.log")
    for attempt in range(1, repeat + 1):
        if step.before:
            step.before()
        measurement.waits.append(wait_for_quiet(step.label, quiet_wait))
        counter = f" ({attempt}/{repeat})" if repeat > 1 else ""
        print(f"{step.label + counter:<28} ...", end=" ", flush=True)
        run = _run_once(step, measurement.log, append=attempt > 1)
        print(
            f"{run.seconds:8.2f} s {run.peak_mb:8,.0f} MB   (other processes: {run.other_cores:.2f} cores)",
            flush=True,
        )
        measurement.runs.append(run)
    return measurement


def _run_once(step: Step, log: Path, append: bool) -> Run:
    env = os.environ | {"COLUMNS": "160", "NO_COLOR": "1"}
    with log.open("a" if append else "w") as out:
        out.write(f"$ {' '.join(step.command)}\n")
        out.flush()
        busy_before = machine_busy_seconds()
        started = time.perf_counter()
        child = subprocess.Popen(step.command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        busy = machine_busy_seconds() - busy_before
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        print("FAILED", flush=True)
        tail = log.read_text().strip().splitlines()[-15:]
        raise StepFailed(f"{step.label} exited {child.returncode}; the end of {log}:\n  " + "\n  ".join(tail))
    cpu_seconds = usage.ru_utime + usage.ru_stime
    return Run(
        seconds=seconds,
        peak_mb=usage.ru_maxrss / 1024,  # Linux reports KiB
        cpu_seconds=cpu_seconds,
        other_cores=max(busy - cpu_seconds, 0.0) / seconds,
    )


def wait_for_quiet(label: str, patience: float) -> float:
    """Wait (up to `patience` seconds) until other processes leave the CPUs nearly idle.

    On a 2-core machine a test suite running beside the benchmark doubles its times;
    the report flags a step that had to run on a busy machine anyway.
    """
    if patience <= 0:
        return 0.0
    started = time.monotonic()
    deadline = started + patience
    announced = False
    while True:
        before = machine_busy_seconds()
        time.sleep(QUIET_SAMPLE_SECONDS)
        load = (machine_busy_seconds() - before) / QUIET_SAMPLE_SECONDS
        if load <= QUIET_CORES or time.monotonic() >= deadline:
            if announced:
                print("quiet" if load <= QUIET_CORES else "still busy, measuring anyway", flush=True)
            return time.monotonic() - started - QUIET_SAMPLE_SECONDS
        if not announced:
            print(f"{label:<28} waiting for other processes ({load:.1f} cores busy) ...", end=" ", flush=True)
            announced = True


def machine_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (Linux /proc/stat; 0 elsewhere)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb() -> float:
    """This process's own peak resident set: a floor under every child's figure."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

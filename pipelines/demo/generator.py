"""A seeded, vectorised generator of demo routing logs (DESIGN.md §2), one row per model call.

Each ISO week is simulated on its own random stream (`seed`, week number) by `simulation.py`;
this module turns a week's simulated calls into exactly its share of `n_calls` canonical rows
in ts order, spoils a few gateway rows as the scenario's data-quality issues, and yields the
weeks. What the world looks like lives in `scenario.py` (as arrays in `world.py`); `files.py`
writes the weeks to the demo's log files.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.demo import scenario as sc
from pipelines.demo.simulation import simulate
from pipelines.demo.world import (
    ENVIRONMENTS,
    ERROR_TYPES,
    FALLBACK_REASONS,
    FEATURES,
    MODEL_NAMES,
    MODEL_PROVIDERS,
    POLICIES,
    PROJECTS,
    REGIONS,
    ROUTE_NAMES,
    SERVICE_TIERS,
    TEAMS,
    USER_TIERS,
    WORKLOADS,
    default_end,
    mondays,
    weekly_targets,
)
from pipelines.ingest.fields import CALL_ROLES, FIELDS, OUTCOMES, STATUSES

__all__ = ["SCHEMA", "default_end", "issue_counts", "iter_weeks"]

ARROW_TYPES = {
    "text": pa.string(),
    "enum": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
}
# Required and defaulted fields are never null in the demo; optional ones may be.
SCHEMA = pa.schema([pa.field(f.name, ARROW_TYPES[f.kind], nullable=not (f.required or f.default)) for f in FIELDS])


# --- from simulated calls to a table ---------------------------------------------------------

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_ids(rng: np.random.Generator, n: int, prefix: str = "", dashes: tuple[int, ...] = ()) -> pa.Array:
    """`n` random ids: `prefix` then 32 hex digits, with '-' inserted before the `dashes` positions."""
    digits = _HEX[rng.integers(0, 16, size=(n, 32), dtype=np.uint8)]
    if dashes:
        digits = np.insert(digits, list(dashes), ord("-"), axis=1)
    head = np.broadcast_to(np.frombuffer(prefix.encode(), dtype=np.uint8), (n, len(prefix)))
    text = np.ascontiguousarray(np.concatenate([head, digits], axis=1))
    width = text.shape[1]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text))


def labels(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Strings from codes into `values`; code -1 is null."""
    codes = np.asarray(codes)
    return pa.array(values, pa.string()).take(pa.array(codes.astype(np.int32), mask=codes < 0))


def _keep_exactly(rng, action: np.ndarray, seq: np.ndarray, n_actions: int, target: int) -> np.ndarray:
    """A mask of `target` calls: whole actions in random order, the last one cut short."""
    per_action = np.bincount(action, minlength=n_actions)
    order = rng.permutation(n_actions)
    filled = np.cumsum(per_action[order])
    whole = int(np.searchsorted(filled, target, side="right"))
    rest = target - (int(filled[whole - 1]) if whole else 0)
    rank = np.empty(n_actions, dtype=np.int64)
    rank[order] = np.arange(n_actions)
    return (rank[action] < whole) | ((rank[action] == whole) & (seq < rest))


def _week_table(rng: np.random.Generator, monday: date, week: int, target: int) -> pa.Table:
    """Exactly `target` calls of one week, ordered by ts."""
    if target <= 0:
        return SCHEMA.empty_table()
    parts, calls_so_far, actions_so_far, calls_per_action = [], 0, 0, 1.75
    while calls_so_far < target:
        n = int((target - calls_so_far) / calls_per_action * 1.05) + 8
        actions, calls = simulate(rng, n, monday, week)
        calls["action"] = calls["action"] + actions_so_far
        parts.append((actions, calls))
        calls_so_far += calls["action"].size
        actions_so_far += n
        calls_per_action = calls_so_far / actions_so_far
    actions = {k: np.concatenate([a[k] for a, _ in parts]) for k in parts[0][0]}
    calls = {k: np.concatenate([c[k] for _, c in parts]) for k in parts[0][1]}
    del parts  # a week is large when the demo is: hold one copy of its calls at a time
    keep = _keep_exactly(rng, calls["action"], calls["seq"], actions_so_far, target)
    order = np.flatnonzero(keep)[np.argsort(calls["ts"][keep], kind="stable")]
    c = {k: calls.pop(k)[order] for k in list(calls)}
    act = c["action"]
    columns = {
        "call_id": _hex_ids(rng, target, dashes=(8, 12, 16, 20)),
        "action_id": _hex_ids(rng, actions_so_far, prefix="act_").take(pa.array(act)),
        "ts": pa.array(c["ts"], pa.timestamp("ms", tz="UTC")),
        "route": labels(ROUTE_NAMES, actions["route"][act]),
        "call_role": labels(CALL_ROLES, c["role"]),
        "provider": labels(MODEL_PROVIDERS, c["model"]),
        "model": labels(MODEL_NAMES, c["model"]),
        "status": labels(STATUSES, c["status"]),
        "quality_passed": pa.array(c["quality"] == 1, mask=c["quality"] < 0),
        "action_outcome": labels(OUTCOMES, c["outcome"]),
        "input_tokens": pa.array(c["input"], pa.int64()),
        "cached_input_tokens": pa.array(c["cached"], pa.int64()),
        "cache_write_tokens": pa.array(c["write"], pa.int64()),
        "cache_write_1h_tokens": pa.array(c["write_1h"], pa.int64()),
        "output_tokens": pa.array(c["output"], pa.int64()),
        "reasoning_tokens": pa.array(c["reasoning"], pa.int64()),
        "tool_calls": pa.array(c["tool_calls"], pa.int64()),
        "latency_ms": pa.array(c["latency"], pa.float64()),
        "response_cache_hit": pa.array(c["hit"]),
        "batch": pa.array(c["batch"]),
        "service_tier": labels(SERVICE_TIERS, c["service_tier"]),
        "fallback_reason": labels(FALLBACK_REASONS, c["reason"]),
        "error_type": labels(ERROR_TYPES, c["error_type"]),
        "user_tier": labels(USER_TIERS, actions["user_tier"][act]),
        "workload_class": labels(WORKLOADS, actions["workload"][act]),
        "team": labels(TEAMS, actions["team"][act]),
        "project": labels(PROJECTS, actions["project"][act]),
        "feature": labels(FEATURES, actions["feature"][act]),
        "environment": labels(ENVIRONMENTS, actions["environment"][act]),
        "policy_version": labels(POLICIES, actions["policy"][act]),
        "region": labels(REGIONS, actions["region"][act]),
        "logged_cost_usd": pa.nulls(target, pa.float64()),
        "web_search_calls": pa.array(np.zeros(target, np.int64)),
    }
    return pa.Table.from_arrays([columns[f.name] for f in SCHEMA], schema=SCHEMA)


# --- data-quality issues ---------------------------------------------------------------------


def issue_counts(gateway_rows: int) -> tuple[int, int]:
    """(bad lines of each kind, duplicate lines) injected into a gateway file of `gateway_rows`."""
    per_kind = max(1, round(gateway_rows * sc.BAD_LINE_RATE / len(sc.BAD_LINE_KINDS)))
    return per_kind, max(2, round(gateway_rows * sc.DUPLICATE_RATE))


def _inject_issues(table: pa.Table, rng: np.random.Generator) -> tuple[pa.Table, np.ndarray]:
    """Break a few gateway rows, one kind per BAD_LINE_KINDS, and re-emit a few others.

    Returns the table and the rows whose JSON line the writer cuts off (a table cannot
    hold a half line).
    """
    gateway = np.flatnonzero(pc.not_equal(table["route"], sc.BATCH_ROUTE).to_numpy(zero_copy_only=False))
    per_kind, duplicates = issue_counts(gateway.size)
    if gateway.size < per_kind * len(sc.BAD_LINE_KINDS) + duplicates:  # a toy demo: too few rows to spoil
        return table, np.empty(0, dtype=np.int64)
    picked = rng.choice(gateway, size=per_kind * len(sc.BAD_LINE_KINDS) + duplicates, replace=False)
    bad = dict(zip(sc.BAD_LINE_KINDS, picked[:-duplicates].reshape(len(sc.BAD_LINE_KINDS), per_kind), strict=True))
    n = table.num_rows

    def rows(kind: str) -> pa.Array:
        mask = np.zeros(n, bool)
        mask[bad[kind]] = True
        return pa.array(mask)

    output_tokens = table["output_tokens"].to_numpy().copy()
    output_tokens[bad["negative_output_tokens"]] = -np.maximum(output_tokens[bad["negative_output_tokens"]], 1)
    cached = table["cached_input_tokens"].to_numpy().copy()
    overflow = bad["cached_exceeds_input"]
    cached[overflow] = table["input_tokens"].to_numpy()[overflow] + rng.integers(1, 2000, overflow.size)
    ts_nullable = pa.field("ts", SCHEMA.field("ts").type, nullable=True)
    changed = {
        "output_tokens": pa.array(output_tokens),
        "cached_input_tokens": pa.array(cached),
        "call_role": pc.if_else(rows("unknown_call_role"), sc.UNKNOWN_CALL_ROLE, table["call_role"]),
        "ts": pc.if_else(rows("missing_ts"), pa.scalar(None, ts_nullable.type), table["ts"]),
    }
    for name, column in changed.items():
        i = table.schema.get_field_index(name)
        table = table.set_column(i, ts_nullable if name == "ts" else table.schema.field(i), column)

    # Each duplicate is re-emitted a few lines after its original.
    copies = picked[-duplicates:]
    position = np.concatenate([np.arange(n), copies + rng.integers(1, 30, copies.size) + 0.5])
    order = np.argsort(position, kind="stable")
    source = np.concatenate([np.arange(n), copies])[order]
    new_index = np.empty(order.size, dtype=np.int64)
    new_index[order] = np.arange(order.size)
    return table.take(pa.array(source)), new_index[bad["truncated_json"]]


# --- the API ---------------------------------------------------------------------------------


def iter_weeks_with_cut_rows(
    n_calls: int, seed: int, end: date | None, weeks: int, inject_issues: bool, first_week: int = 1
) -> Iterator[tuple[date, pa.Table, np.ndarray]]:
    """`iter_weeks`, each week with the rows whose JSON line the writer cuts off (see `_inject_issues`)."""
    targets = weekly_targets(n_calls, weeks)
    for week, (monday, target) in enumerate(zip(mondays(end, weeks), targets, strict=True), start=1):
        if week < first_week:  # each week has its own random stream: the earlier ones need not be drawn
            continue
        rng = np.random.default_rng([seed, week])
        table = _week_table(rng, monday, week, int(target))
        cut = np.empty(0, dtype=np.int64)
        if inject_issues and week == sc.ISSUE_WEEK and table.num_rows:
            table, cut = _inject_issues(table, rng)
        yield monday, table, cut


def iter_weeks(
    n_calls: int = 1_000_000,
    seed: int = 7,
    end: date | None = None,
    weeks: int = 12,
    inject_issues: bool = False,
    first_week: int = 1,
) -> Iterator[tuple[date, pa.Table]]:
    """(Monday, calls) for each ISO week, oldest first; the calls are canonical rows in ts order.

    `n_calls` are spread over the weeks (growing week on week); `end` is the period's last
    Sunday (default: the last one before today). With `inject_issues`, the ISSUE_WEEK table
    holds the demo's bad and duplicate gateway rows (its ts column is then nullable); a
    line cut mid-JSON only exists in the file `write_demo` writes. Weeks before `first_week`
    (1-based) are skipped without being drawn; the others are the same as in a whole run.
    """
    for monday, table, _ in iter_weeks_with_cut_rows(n_calls, seed, end, weeks, inject_issues, first_week):
        yield monday, table

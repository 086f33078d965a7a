"""What routeledger is measured against, each run as its own process by `bench.run`:

    python -m bench.baselines bare FILE DB                  DuckDB's bare load of a file
    python -m bench.baselines query WAREHOUSE OUT           one hand-written query
    python -m bench.baselines pandas PARQUET WAREHOUSE OUT  the same in plain pandas

`query` and `pandas` compute per (ISO week, route) what `marts.route_weekly` does
(DESIGN.md §3 and §4): cost per completed action, fallback rate, retry rate and
prompt-cache hit rate, and write them to OUT (Parquet) for `bench.run` to compare.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import duckdb

# Per route and ISO week, from raw.calls + raw.prices + raw.model_map, the way an analyst
# writes it: price each call, roll calls up to actions, actions up to route-weeks.
HAND_WRITTEN_QUERY = """
with

-- each call with the priced model its (provider, model) resolves to
calls as (
    select
        calls.*,
        cast(timezone('UTC', calls.ts) as date) as call_date,
        model_map.price_provider,
        model_map.price_model
    from raw.calls as calls
    left join raw.model_map as model_map
        on model_map.provider = calls.provider and model_map.model = calls.model
),

-- price rows with the instant each stops applying (a period's own rows; a window's
-- rows hold its rates inside the period)
periods as (
    select
        *,
        lead(effective_from) over (partition by provider, model, service_tier order by effective_from)
            as effective_to
    from raw.prices
    where window_name is null
),

windows as (
    select * from raw.prices where window_name is not null
),

priced_tiers as (
    select distinct provider, model, service_tier from raw.prices
),

-- the price row in force at the call's start, for its tier or else the default tier,
-- and the time-of-day window it falls in
priced as (
    select
        calls.*,
        coalesce(calls.input_tokens > periods.long_context_threshold_tokens, false) as is_long_context,
        case when calls.batch then periods.batch_multiplier else 1 end as multiplier,
        coalesce(windows.input_usd_per_mtok, periods.input_usd_per_mtok) as input_usd_per_mtok,
        coalesce(windows.cached_input_usd_per_mtok, periods.cached_input_usd_per_mtok) as cached_input_usd_per_mtok,
        coalesce(windows.cache_write_usd_per_mtok, periods.cache_write_usd_per_mtok) as cache_write_usd_per_mtok,
        coalesce(windows.cache_write_1h_usd_per_mtok, periods.cache_write_1h_usd_per_mtok)
            as cache_write_1h_usd_per_mtok,
        coalesce(windows.output_usd_per_mtok, periods.output_usd_per_mtok) as output_usd_per_mtok,
        coalesce(windows.long_context_input_usd_per_mtok, periods.long_context_input_usd_per_mtok)
            as long_context_input_usd_per_mtok,
        coalesce(windows.long_context_cached_input_usd_per_mtok, periods.long_context_cached_input_usd_per_mtok)
            as long_context_cached_input_usd_per_mtok,
        coalesce(windows.long_context_cache_write_usd_per_mtok, periods.long_context_cache_write_usd_per_mtok)
            as long_context_cache_write_usd_per_mtok,
        coalesce(windows.long_context_cache_write_1h_usd_per_mtok, periods.long_context_cache_write_1h_usd_per_mtok)
            as long_context_cache_write_1h_usd_per_mtok,
        coalesce(windows.long_context_output_usd_per_mtok, periods.long_context_output_usd_per_mtok)
            as long_context_output_usd_per_mtok
    from calls
    left join priced_tiers
        on priced_tiers.provider = calls.price_provider
        and priced_tiers.model = calls.price_model
        and priced_tiers.service_tier = calls.service_tier
    left join periods
        on periods.provider = calls.price_provider
        and periods.model = calls.price_model
        and periods.service_tier = coalesce(priced_tiers.service_tier, 'default')
        and calls.ts >= periods.effective_from
        and (periods.effective_to is null or calls.ts < periods.effective_to)
    left join windows
        on windows.provider = periods.provider
        and windows.model = periods.model
        and windows.service_tier = periods.service_tier
        and windows.effective_from = periods.effective_from
        and list_contains(windows.window_weekdays, isodow(timezone(windows.window_time_zone, calls.ts)))
        and hour(timezone(windows.window_time_zone, calls.ts)) * 60
            + minute(timezone(windows.window_time_zone, calls.ts)) >= windows.window_start_minute
        and hour(timezone(windows.window_time_zone, calls.ts)) * 60
            + minute(timezone(windows.window_time_zone, calls.ts)) < windows.window_end_minute
),

call_costs as (
    select
        *,
        case when response_cache_hit then 0 else (
            (input_tokens - cached_input_tokens - cache_write_tokens) * case when is_long_context
                then long_context_input_usd_per_mtok else input_usd_per_mtok end
            + cached_input_tokens * case when is_long_context
                then long_context_cached_input_usd_per_mtok else cached_input_usd_per_mtok end
            + (cache_write_tokens - cache_write_1h_tokens) * case when is_long_context
                then long_context_cache_write_usd_per_mtok else cache_write_usd_per_mtok end
            + cache_write_1h_tokens * case when is_long_context
                then long_context_cache_write_1h_usd_per_mtok else cache_write_1h_usd_per_mtok end
            + output_tokens * case when is_long_context
                then long_context_output_usd_per_mtok else output_usd_per_mtok end
        ) / 1e6 * multiplier end as cost_usd
    from priced
),

-- one row per action, in the route and ISO week of its earliest call
actions as (
    select
        action_id,
        arg_min(route, (ts, call_id)) as route,
        cast(date_trunc('week', min(timezone('UTC', ts))) as date) as week,
        sum(cost_usd) as cost_usd,
        coalesce(
            arg_max(action_outcome, (ts, call_id)) filter (where action_outcome is not null),
            case when bool_or(
                call_role in ('primary', 'retry', 'fallback') and status = 'ok'
                and quality_passed is distinct from false
            ) then 'completed' end
        ) = 'completed' as is_completed,
        bool_or(call_role = 'fallback') as has_fallback,
        bool_or(call_role = 'retry') as has_retry,
        count(*) filter (where not response_cache_hit and input_tokens > 0) as prompt_cache_eligible_calls,
        count(*) filter (
            where not response_cache_hit and input_tokens > 0 and cached_input_tokens > 0
        ) as prompt_cache_hit_calls
    from call_costs
    group by action_id
)

select
    week,
    route,
    count(*) as actions,
    count(*) filter (where is_completed) as completed_actions,
    sum(cost_usd) / nullif(count(*) filter (where is_completed), 0) as cost_per_completed_action_usd,
    count(*) filter (where has_fallback) / count(*) as fallback_rate,
    count(*) filter (where has_retry) / count(*) as retry_rate,
    sum(prompt_cache_hit_calls) / nullif(sum(prompt_cache_eligible_calls), 0) as prompt_cache_hit_rate
from actions
group by week, route
order by week, route
"""

# The only columns of the log the computation needs (of the ~35 a file carries).
PANDAS_COLUMNS = [
    "call_id",
    "action_id",
    "ts",
    "route",
    "call_role",
    "provider",
    "model",
    "status",
    "quality_passed",
    "action_outcome",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "response_cache_hit",
    "batch",
    "service_tier",
]
TOKEN_CLASSES = ("input", "cached_input", "cache_write", "cache_write_1h", "output")


def bare_load(file: str, db: str) -> None:
    """DuckDB's own load of the file into a new database, every setting left at its default."""
    reader = "read_parquet" if file.endswith(".parquet") else "read_json"
    con = duckdb.connect(db)
    con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}(?)", [file])
    print(f"{con.execute('SELECT count(*) FROM t').fetchone()[0]} rows loaded by {reader}")
    con.close()


def hand_written_query(warehouse: str, out: str) -> None:
    con = duckdb.connect(warehouse, read_only=True)
    result = con.sql(HAND_WRITTEN_QUERY).pl()
    con.close()
    _write(result, out)


def pandas_route_weekly(parquet: str, warehouse: str, out: str) -> None:
    """The same computation in plain pandas: merges and groupbys over the calls file."""
    import numpy as np
    import pandas as pd

    calls = pd.read_parquet(parquet, columns=PANDAS_COLUMNS)
    con = duckdb.connect(warehouse, read_only=True)
    prices = con.execute(
        """SELECT * EXCLUDE (window_weekdays)
               REPLACE (cast(timezone('UTC', effective_from) AS timestamp) AS effective_from)
           FROM raw.prices WHERE window_name IS NULL"""
    ).df()
    windows = con.execute(
        """SELECT provider AS price_provider, model AS price_model, service_tier AS priced_service_tier,
                  cast(timezone('UTC', effective_from) AS timestamp) AS effective_from, window_time_zone,
                  window_weekdays, window_start_minute, window_end_minute, COLUMNS('usd_per_mtok$')
           FROM raw.prices WHERE window_name IS NOT NULL"""
    ).df()
    model_map = con.execute("SELECT provider, model, price_provider, price_model FROM raw.model_map").df()
    con.close()

    # The price period of a call depends only on (provider, model, service tier, UTC date; the
    # catalog's effective times in the benchmarked weeks are all at midnight): resolve
    # each distinct combination (a few thousand), then bring the rates to the calls in one merge.
    calls["call_date"] = calls["ts"].dt.tz_convert(None).dt.floor("D")
    call_key = ["provider", "model", "service_tier", "call_date"]
    combos = calls[call_key].drop_duplicates()

    # the priced model, and the tier priced for it (the default tier's when the call's has none)
    combos = combos.merge(model_map, on=["provider", "model"], how="left")
    price_key = ["price_provider", "price_model", "priced_service_tier"]
    prices = prices.rename(
        columns={"provider": "price_provider", "model": "price_model", "service_tier": "priced_service_tier"}
    )
    tiers = prices[price_key].drop_duplicates().assign(service_tier=lambda t: t["priced_service_tier"])
    combos = combos.merge(tiers, on=["price_provider", "price_model", "service_tier"], how="left")
    combos["priced_service_tier"] = combos["priced_service_tier"].fillna("default")

    # the price row in force on the date
    prices = prices.sort_values([*price_key, "effective_from"])
    prices["effective_to"] = prices.groupby(price_key)["effective_from"].shift(-1)
    candidates = combos.merge(prices, on=price_key)
    in_force = candidates[
        (candidates["call_date"] >= candidates["effective_from"])
        & (candidates["effective_to"].isna() | (candidates["call_date"] < candidates["effective_to"]))
    ]
    rate_columns = [f"{k}_usd_per_mtok" for k in TOKEN_CLASSES]
    long_columns = [f"long_context_{c}" for c in rate_columns]
    # (pandas matches a missing service_tier with a missing one, which is what is meant here)
    period_key = [*price_key, "effective_from"]
    calls = calls.merge(
        in_force[[*call_key, *period_key, "batch_multiplier", "long_context_threshold_tokens", *rate_columns,
                  *long_columns]],
        on=call_key,
        how="left",
    )  # fmt: skip

    # time-of-day windows: the calls of periods that have them, at their local time
    candidates = calls[[*period_key, "ts"]].reset_index().merge(windows, on=period_key)
    for zone, group in candidates.groupby("window_time_zone"):
        local = group["ts"].dt.tz_convert(zone)
        minute = local.dt.hour * 60 + local.dt.minute
        weekday = local.dt.dayofweek + 1
        in_days = np.array([day in days for day, days in zip(weekday, group["window_weekdays"], strict=True)])
        hits = group[in_days & (minute >= group["window_start_minute"]) & (minute < group["window_end_minute"])]
        calls.loc[hits["index"], [*rate_columns, *long_columns]] = hits[[*rate_columns, *long_columns]].to_numpy()
    calls = calls.drop(columns=period_key)

    # cost per call (DESIGN.md §3); NaN when unpriced, 0 for a response-cache hit
    is_long = (calls["input_tokens"] > calls["long_context_threshold_tokens"]).fillna(False).astype(bool)
    rate = {
        k: calls[f"long_context_{k}_usd_per_mtok"].where(is_long, calls[f"{k}_usd_per_mtok"]) for k in TOKEN_CLASSES
    }
    tokens = (
        (calls["input_tokens"] - calls["cached_input_tokens"] - calls["cache_write_tokens"]) * rate["input"]
        + calls["cached_input_tokens"] * rate["cached_input"]
        + (calls["cache_write_tokens"] - calls["cache_write_1h_tokens"]) * rate["cache_write"]
        + calls["cache_write_1h_tokens"] * rate["cache_write_1h"]
        + calls["output_tokens"] * rate["output"]
    )
    multiplier = calls["batch_multiplier"].where(calls["batch"], 1.0)
    calls["cost_usd"] = (tokens / 1e6 * multiplier).mask(calls["response_cache_hit"], 0.0)
    calls = calls.drop(columns=["batch_multiplier", "long_context_threshold_tokens", *rate_columns, *long_columns])

    # per call flags, then one row per action in the order of its calls
    answered = calls["call_role"].isin(["primary", "retry", "fallback"]) & (calls["status"] == "ok")
    calls["is_good_answer"] = answered & ~calls["quality_passed"].eq(False)
    calls["is_retry"] = calls["call_role"] == "retry"
    calls["is_fallback"] = calls["call_role"] == "fallback"
    eligible = ~calls["response_cache_hit"] & (calls["input_tokens"] > 0)
    calls["prompt_cache_eligible"] = eligible
    calls["prompt_cache_hit"] = eligible & (calls["cached_input_tokens"] > 0)
    action_columns = ["action_id", "route", "ts", "call_id", "action_outcome", "cost_usd"]
    flags = ["is_good_answer", "is_retry", "is_fallback", "prompt_cache_eligible", "prompt_cache_hit"]
    calls = calls[action_columns + flags].sort_values(["ts", "call_id"])
    by_action = calls.groupby("action_id", sort=False)
    actions = by_action.agg(
        route=("route", "first"),
        started_at=("ts", "first"),
        router_outcome=("action_outcome", "last"),  # the latest outcome given (nulls skipped)
        has_good_answer=("is_good_answer", "any"),
        has_retry=("is_retry", "any"),
        has_fallback=("is_fallback", "any"),
        prompt_cache_eligible=("prompt_cache_eligible", "sum"),
        prompt_cache_hits=("prompt_cache_hit", "sum"),
    )
    actions["cost_usd"] = by_action["cost_usd"].sum(min_count=1)  # NULL when no call is priced
    outcome = actions["router_outcome"]
    actions["is_completed"] = (outcome == "completed") | (outcome.isna() & actions["has_good_answer"])
    started = actions["started_at"].dt.tz_convert(None).dt.floor("D")
    actions["week"] = started - pd.to_timedelta(started.dt.day_of_week, unit="D")

    # one row per (week, route)
    by_week = actions.groupby(["week", "route"])
    weekly = by_week.agg(
        actions=("is_completed", "size"),
        completed_actions=("is_completed", "sum"),
        actions_with_fallback=("has_fallback", "sum"),
        actions_with_retry=("has_retry", "sum"),
        prompt_cache_eligible=("prompt_cache_eligible", "sum"),
        prompt_cache_hits=("prompt_cache_hits", "sum"),
    )
    weekly["cost_usd"] = by_week["cost_usd"].sum(min_count=1)
    weekly["cost_per_completed_action_usd"] = weekly["cost_usd"] / weekly["completed_actions"].replace(0, np.nan)
    weekly["fallback_rate"] = weekly["actions_with_fallback"] / weekly["actions"]
    weekly["retry_rate"] = weekly["actions_with_retry"] / weekly["actions"]
    weekly["prompt_cache_hit_rate"] = weekly["prompt_cache_hits"] / weekly["prompt_cache_eligible"].replace(0, np.nan)
    result = weekly.reset_index()[
        [
            "week",
            "route",
            "actions",
            "completed_actions",
            "cost_per_completed_action_usd",
            "fallback_rate",
            "retry_rate",
            "prompt_cache_hit_rate",
        ]
    ]
    result["week"] = result["week"].dt.date
    _write(result, out)


def _write(result: Any, out: str) -> None:
    """The result as Parquet, through DuckDB (it takes polars and pandas frames alike)."""
    con = duckdb.connect()
    con.register("result", result)
    con.execute("COPY result TO ? (FORMAT parquet)", [out])
    con.close()
    print(f"{len(result)} (week, route) rows written to {out}")


COMMANDS = {"bare": bare_load, "query": hand_written_query, "pandas": pandas_route_weekly}

if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    COMMANDS[command](*(str(Path(a)) for a in arguments))

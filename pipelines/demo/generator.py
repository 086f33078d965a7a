"""A seeded, vectorised generator of demo routing logs (DESIGN.md §2), one row per model call.

Each ISO week is simulated on its own random stream (`seed`, week number): actions are
drawn with their tags and start times, then every action's chain of calls (classifier,
reranker, primary, retries, fallbacks, validations, agent steps) is played out for all
actions at once, one attempt per pass. Nothing loops over rows: the passes loop over
attempts, the groups over routes. What the world looks like lives in `scenario.py`.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.demo import scenario as sc
from pipelines.ingest.fields import CALL_ROLES, FIELDS, OUTCOMES, STATUSES

FORMATS = ("parquet", "jsonl", "csv")
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MAX_PASSES = 200  # attempts of the longest chain; a guard, never reached

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

# Codes of the enums, by name, so a renamed value fails here and not in a file.
ROLE = {name: code for code, name in enumerate(CALL_ROLES)}
STATUS = {name: code for code, name in enumerate(STATUSES)}
OUTCOME = {name: code for code, name in enumerate(OUTCOMES)}
PRIMARY, RETRY, FALLBACK = ROLE["primary"], ROLE["retry"], ROLE["fallback"]
OK, ERROR, TIMEOUT = STATUS["ok"], STATUS["error"], STATUS["timeout"]
RATE_LIMITED, INVALID, REFUSED = STATUS["rate_limited"], STATUS["invalid_output"], STATUS["refused"]
ERROR_TYPES = (
    "429",
    "timeout",
    "500",
    "503",
    "529",
    "schema_mismatch",
    "content_filter",
    "context_length_exceeded",
)
ERR = {name: code for code, name in enumerate(ERROR_TYPES)}
FALLBACK_REASONS = (
    "rate_limited",
    "timeout",
    "provider_error",
    "invalid_output",
    "quality_check_failed",
    "context_length_exceeded",
)
REASON = {name: code for code, name in enumerate(FALLBACK_REASONS)}
SERVICE_TIERS = ("default", "priority", "flex")
CHECKS = (None, "schema", "validation")
SIZES = (*sc.TIERS, "tool")


# --- the scenario compiled into arrays ---------------------------------------------------------

ROUTES = sc.ROUTES
ROUTE_NAMES = tuple(route.name for route in ROUTES)
BATCH_ROUTE = ROUTE_NAMES.index(sc.BATCH_ROUTE)


def _models() -> tuple[list[sc.Model], list[int]]:
    """Every model the demo calls, each with the size that sets its latency."""
    models: list[sc.Model] = []
    sizes: list[int] = []

    def add(model: sc.Model, size: int) -> None:
        if model not in models:
            models.append(model)
            sizes.append(size)

    for route in ROUTES:
        for tier, model in route.models.items():
            add(model, sc.TIERS.index(tier))
        if route.private_low:
            add(route.private_low[0], 0)
        if route.tool_model:
            add(route.tool_model, SIZES.index("tool"))
    add(sc.CLASSIFIER, 0)
    return models, sizes


MODELS, _SIZES = _models()
MODEL_SIZE = np.array(_SIZES)
MODEL_INDEX = {model: code for code, model in enumerate(MODELS)}
MODEL_PROVIDERS = tuple(model.provider for model in MODELS)
MODEL_NAMES = tuple(model.model for model in MODELS)
PROVIDER_OF = np.array(MODEL_PROVIDERS)
# Prompt caching by provider: 1 = implicit reads of repeated prefixes, 2 = explicit writes and reads.
MODEL_CACHE_KIND = np.array([{"openai": 1, "google": 1, "anthropic": 2}.get(p, 0) for p in MODEL_PROVIDERS])
IS_OPENAI = np.array([p == "openai" for p in MODEL_PROVIDERS])
LATENCY = np.array([sc.LATENCY_MS[size] for size in SIZES])  # by size: ttft, per output, per input
TIMEOUTS = np.array([sc.TIMEOUT_MS[size] for size in SIZES])


def _labels_of(attribute: str) -> tuple[tuple[str, ...], np.ndarray]:
    """A tag drawn per route: its values, and the (route, value) probability matrix."""
    values = tuple(dict.fromkeys(v for route in ROUTES for v in getattr(route, attribute)))
    matrix = np.array([[getattr(route, attribute).get(v, 0.0) for v in values] for route in ROUTES])
    return values, matrix / matrix.sum(axis=1, keepdims=True)


PROJECTS, PROJECT_P = _labels_of("projects")
FEATURES, FEATURE_P = _labels_of("features")
WORKLOADS, WORKLOAD_P = _labels_of("workload")
TEAMS = tuple(dict.fromkeys(route.team for route in ROUTES))
POLICIES = tuple(dict.fromkeys([route.policy_version for route in ROUTES] + [s.policy_version for s in sc.STORIES]))
USER_TIERS, REGIONS, ENVIRONMENTS = tuple(sc.USER_TIERS), tuple(sc.REGIONS), tuple(sc.ENVIRONMENTS)
HOUR_PROFILES = tuple(sc.HOURS)


def route_params(week: int) -> dict[str, np.ndarray]:
    """Per-route parameter arrays (indexed by route code) in effect in `week`, stories applied."""

    def column(get, dtype=float) -> np.ndarray:
        return np.array([get(route) for route in ROUTES], dtype=dtype)

    def model_code(model: sc.Model | None) -> int:
        return MODEL_INDEX[model] if model else -1

    p = {
        "share": column(lambda r: r.share),
        "models": column(lambda r: [MODEL_INDEX[r.models[t]] for t in sc.TIERS], int),
        "primary": column(lambda r: sc.TIERS.index(r.primary_tier), int),
        "fallback": column(lambda r: sc.TIERS.index(r.fallback_tier), int),
        "max_retries": column(lambda r: r.max_retries, int),
        "escalate": column(lambda r: r.escalate),
        "enterprise_premium": column(lambda r: r.enterprise_premium),
        "classifier": column(lambda r: r.classifier, bool),
        "tool_model": column(lambda r: model_code(r.tool_model), int),
        "steps_min": column(lambda r: r.steps[0], int),
        "steps_max": column(lambda r: r.steps[1], int),
        "context_growth": column(lambda r: r.context_growth),
        "abandon": column(lambda r: r.abandon),
        "reports_outcome": column(lambda r: r.reports_outcome, bool),
        "check": column(lambda r: CHECKS.index(r.check), int),
        "check_fail": column(lambda r: [r.check_fail.get(t, 0.0) for t in sc.TIERS]),
        "tool_calls_mean": column(lambda r: r.tool_calls_mean),
        "reasoning": column(lambda r: r.reasoning, bool),
        "cache_read": column(lambda r: r.cache_read),
        "cache_write": column(lambda r: r.cache_write),
        "cache_1h": column(lambda r: r.cache_1h),
        "prefix_min": column(lambda r: r.prefix_share[0]),
        "prefix_max": column(lambda r: r.prefix_share[1]),
        "response_cache": column(lambda r: r.response_cache),
        "flex": column(lambda r: r.flex),
        "batch": column(lambda r: r.batch, bool),
        "private_model": column(lambda r: model_code(r.private_low[0] if r.private_low else None), int),
        "private_share": column(lambda r: r.private_low[1] if r.private_low else 0.0),
        "input_median": column(lambda r: r.tokens.input_median),
        "input_sigma": column(lambda r: r.tokens.input_sigma),
        "output_median": column(lambda r: r.tokens.output_median),
        "output_sigma": column(lambda r: r.tokens.output_sigma),
        "failures": column(
            lambda r: [
                r.failures.rate_limited,
                r.failures.timeout,
                r.failures.error,
                r.failures.invalid_output,
                r.failures.refused,
                r.failures.context_length,
            ]
        ),
        "low_invalid": np.full(len(ROUTES), np.nan),
        "input_scale": np.ones(len(ROUTES)),
        "policy": column(lambda r: POLICIES.index(r.policy_version), int),
        "hours": column(lambda r: HOUR_PROFILES.index(r.hours), int),
        "team": column(lambda r: TEAMS.index(r.team), int),
    }
    for story in sc.STORIES:
        if week >= story.week:
            r = ROUTE_NAMES.index(story.route)
            p["policy"][r] = POLICIES.index(story.policy_version)
            p["input_scale"][r] = story.input_scale
            if story.low_tier_invalid_output is not None:
                p["low_invalid"][r] = story.low_tier_invalid_output
    return p


# --- dates and volume ------------------------------------------------------------------------


def default_end(today: date | None = None) -> date:
    """The last Sunday strictly before `today` (UTC): the demo then covers complete ISO weeks."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=today.weekday() + 1)


def _mondays(end: date | None, weeks: int) -> list[date]:
    """The Mondays of the `weeks` ISO weeks ending on the last Sunday on or before `end`."""
    end = default_end() if end is None else end - timedelta(days=(end.weekday() + 1) % 7)
    first = end - timedelta(days=6 + 7 * (weeks - 1))
    return [first + timedelta(weeks=w) for w in range(weeks)]


def _weekly_targets(n_calls: int, weeks: int) -> np.ndarray:
    """Calls per week, growing by WEEKLY_GROWTH, summing to exactly `n_calls`."""
    weight = (1 + sc.WEEKLY_GROWTH) ** np.arange(weeks)
    targets = np.floor(n_calls * weight / weight.sum()).astype(np.int64)
    targets[-1] += n_calls - targets.sum()
    return targets


def _epoch_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


# --- sampling helpers ------------------------------------------------------------------------


def _pick(rng: np.random.Generator, group: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """For each row, a value code drawn from its group's row of `probabilities`."""
    cdf = np.cumsum(probabilities, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(group.size)
    out = np.empty(group.size, dtype=np.int64)
    for g in np.unique(group):
        rows = group == g
        out[rows] = np.searchsorted(cdf[g], u[rows], side="right")
    return np.minimum(out, probabilities.shape[1] - 1)


def _lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: np.ndarray | float, n: int):
    return np.asarray(median) * np.exp(rng.standard_normal(n) * sigma)


def _hour_probabilities() -> np.ndarray:
    """(profile, region) -> probability of each UTC hour, from local-hour profiles."""
    rows = []
    for profile in HOUR_PROFILES:
        local = np.array(sc.HOURS[profile])
        for region in REGIONS:
            offset = sc.REGION_UTC_OFFSET_HOURS[region]
            rows.append(local[(np.arange(24) + offset) % 24])
    return np.array(rows)


HOUR_P = _hour_probabilities()


# --- one week's simulation -------------------------------------------------------------------


class _Week:
    """The actions of one batch of a week, their chain state, and the calls emitted so far."""

    def __init__(self, rng: np.random.Generator, n: int, monday: date, week: int) -> None:
        self.rng, self.week, self.monday_ms = rng, week, _epoch_ms(monday)
        self.p = p = route_params(week)
        route = rng.choice(len(ROUTES), size=n, p=p["share"] / p["share"].sum())
        region = _pick(rng, np.zeros(n, int), np.array([list(sc.REGIONS.values())]))
        day = _pick(rng, np.zeros(n, int), np.array([sc.WEEKDAY_WEIGHTS]))
        hour = _pick(rng, p["hours"][route] * len(REGIONS) + region, HOUR_P)
        user_tier = _pick(rng, np.zeros(n, int), np.array([list(sc.USER_TIERS.values())]))
        user_tier[p["batch"][route]] = -1  # batch jobs act for no user
        tier = p["primary"][route].copy()
        tier = np.where(rng.random(n) < p["escalate"][route], np.minimum(tier + 1, 2), tier)
        enterprise = user_tier == USER_TIERS.index("enterprise")
        tier[enterprise & (rng.random(n) < p["enterprise_premium"][route])] = 2
        steps = rng.integers(p["steps_min"][route], p["steps_max"][route] + 1)
        abandons = rng.random(n) < p["abandon"][route]
        self.a = {
            "route": route,
            "region": region,
            "user_tier": user_tier,
            "environment": _pick(rng, np.zeros(n, int), np.array([list(sc.ENVIRONMENTS.values())])),
            "project": _pick(rng, route, PROJECT_P),
            "feature": _pick(rng, route, FEATURE_P),
            "workload": _pick(rng, route, WORKLOAD_P),
            "start": self.monday_ms + day * DAY_MS + hour * HOUR_MS + rng.integers(0, HOUR_MS, n),
            "tier": tier,
            "steps": steps,
            "abandon_at": np.where(abandons, rng.integers(1, np.maximum(steps, 2)), 1_000),
            "degraded": rng.random(n) < sc.DEGRADED_ACTIONS,
            "private": rng.random(n) < p["private_share"][route],
            "flex": rng.random(n) < p["flex"][route],
        }
        self.clock = self.a["start"].copy()
        self.seq = np.zeros(n, dtype=np.int64)
        self.outcome = np.full(n, -1)
        self.calls: list[dict[str, np.ndarray]] = []

    def emit(self, idx: np.ndarray, model: np.ndarray, role, status: np.ndarray, **columns) -> None:
        """Record one call for each action in `idx`, starting at its clock, and move the clock on."""
        n, rng = idx.size, self.rng
        zeros = np.zeros(n, dtype=np.int64)
        tokens = {k: columns.get(k, zeros) for k in ("input", "cached", "write", "write_1h", "output")}
        hit = columns.get("hit", np.zeros(n, bool))
        latency = _latency(rng, MODEL_SIZE[model], tokens["input"], tokens["output"], status, hit)
        batch = self.p["batch"][self.a["route"][idx]]
        slow = batch & ~hit & (status != RATE_LIMITED)
        batch_ms = np.minimum(_lognormal(rng, *sc.BATCH_LATENCY_MS[:2], n), sc.BATCH_LATENCY_MS[2])
        latency = np.round(np.where(slow, batch_ms, latency), 1)
        service_tier = np.where(IS_OPENAI[model], 0, -1)
        priority = (self.a["user_tier"][idx] == USER_TIERS.index("enterprise")) & (MODEL_SIZE[model] == 2)
        service_tier[IS_OPENAI[model] & priority] = 1
        service_tier[IS_OPENAI[model] & ~priority & self.a["flex"][idx]] = 2
        self.calls.append(
            {
                "action": idx,
                "seq": self.seq[idx].copy(),
                "ts": self.clock[idx].copy(),
                "role": np.broadcast_to(role, n),
                "model": model,
                "status": status,
                "error_type": columns.get("error_type", np.full(n, -1)),
                "reason": columns.get("reason", np.full(n, -1)),
                "quality": columns.get("quality", np.full(n, -1)),
                **tokens,
                "reasoning": columns.get("reasoning", zeros),
                "tool_calls": columns.get("tool_calls", zeros),
                "latency": latency,
                "hit": hit,
                "batch": batch,
                "service_tier": service_tier,
            }
        )
        self.seq[idx] += 1
        self.clock[idx] += np.ceil(latency).astype(np.int64) + 1

    def wait(self, idx: np.ndarray, low_ms: float, high_ms: np.ndarray | float) -> None:
        self.clock[idx] += self.rng.uniform(low_ms, high_ms, idx.size).astype(np.int64)


def _latency(rng, size, input_tokens, output_tokens, status, hit) -> np.ndarray:
    """Milliseconds: lognormal around time-to-first-token plus per-token time, by model size."""
    n = size.size
    ttft, per_output, per_input = LATENCY[size].T
    served = (ttft + per_output * output_tokens + per_input * input_tokens) * _lognormal(rng, 1.0, sc.LATENCY_SIGMA, n)
    return np.select(
        [hit, status == TIMEOUT, status == RATE_LIMITED, status == ERROR],
        [
            rng.uniform(3, 20, n),  # the gateway's response cache
            TIMEOUTS[size] * rng.uniform(1.0, 1.02, n),
            rng.uniform(20, 200, n),
            _lognormal(rng, 300.0, 0.6, n),
        ],
        served,
    )


def _prompt_cache(rng, model, input_tokens, read, write, one_hour, prefix_min, prefix_max):
    """Cached reads, cache writes and 1-hour writes, all inside `input_tokens`.

    OpenAI and Google cache repeated prefixes implicitly, in 128-token blocks, from 1024
    tokens; Anthropic writes a marked prefix (5-minute or 1-hour TTL), later calls read it.
    """
    n = model.size
    kind = MODEL_CACHE_KIND[model]
    u = rng.random(n)
    prefix = (input_tokens * rng.uniform(prefix_min, prefix_max, n)).astype(np.int64)
    eligible = input_tokens >= 1024
    reads = eligible & (kind > 0) & (u < read)
    writes = eligible & (kind == 2) & ~reads & (u < read + write)
    cached = np.where(reads, np.where(kind == 1, prefix // 128 * 128, prefix), 0)
    cache_write = np.where(writes, prefix, 0)
    cache_write_1h = np.where(rng.random(n) < one_hour, cache_write, 0)
    return cached, cache_write, cache_write_1h


def _status(week: _Week, idx, route, tier, role, model) -> tuple[np.ndarray, np.ndarray]:
    """Status and error type of generation calls: the route's failure mix, stories, incidents."""
    rng, p, n = week.rng, week.p, idx.size
    chances = p["failures"][route].copy()
    story = ~np.isnan(p["low_invalid"][route]) & (tier == 0)
    chances[story, 3] = p["low_invalid"][route][story]
    chances[:, 5] *= role == PRIMARY  # only a first attempt can overflow the window
    degraded = week.a["degraded"][idx]
    chances[degraded] = np.array([0.3, 0.2, 0.5, 0, 0, 0]) * sc.DEGRADED_ERROR_RATE
    kind = (rng.random(n)[:, None] >= np.cumsum(chances, axis=1)).sum(axis=1)
    status = np.array([RATE_LIMITED, TIMEOUT, ERROR, INVALID, REFUSED, ERROR, OK])[kind]
    error_type = np.array([ERR["429"], ERR["timeout"], ERR["500"], ERR["schema_mismatch"]] + [-1] * 3)[kind]
    error_type[kind == 2] = np.where(rng.random(n) < 0.25, ERR["503"], ERR["500"])[kind == 2]
    error_type[kind == 4] = ERR["content_filter"]
    error_type[kind == 5] = ERR["context_length_exceeded"]
    ts = week.clock[idx]
    for incident in sc.INCIDENTS:
        if incident.week != week.week:
            continue
        start = week.monday_ms + incident.weekday * DAY_MS + incident.hour_utc * HOUR_MS
        hit = (ts >= start) & (ts < start + incident.hours * HOUR_MS)
        hit &= (PROVIDER_OF[model] == incident.provider) & (rng.random(n) < incident.error_rate)
        status[hit], error_type[hit] = ERROR, ERR[incident.error_type]
    return status, error_type


def _generation_call(week: _Week, idx, role, tier, reason, prompt_tokens, step) -> tuple[np.ndarray, ...]:
    """One attempt for each action in `idx` (plus its validation call); returns status, quality, error."""
    rng, p, a, n = week.rng, week.p, week.a, idx.size
    route = a["route"][idx]
    model = p["models"][route, tier]
    private = (tier == 0) & a["private"][idx]
    model[private] = p["private_model"][route][private]
    status, error_type = _status(week, idx, route, tier, role, model)
    hit = (role == PRIMARY) & (rng.random(n) < p["response_cache"][route])
    status[hit], error_type[hit] = OK, -1

    processed = (status == OK) | (status == INVALID) | (status == REFUSED)
    retokenised = np.where(role == FALLBACK, rng.uniform(0.95, 1.08, n), 1.0)
    input_tokens = np.where(processed, prompt_tokens * retokenised, 0).astype(np.int64)
    visible = _lognormal(rng, p["output_median"][route], p["output_sigma"][route], n)
    thinks = p["reasoning"][route] & (tier == 2) & (status != REFUSED)
    reasoning = np.where(processed & thinks, visible * rng.uniform(0.5, 2.5, n), 0).astype(np.int64)
    visible = np.where(status == REFUSED, np.minimum(visible, 25), visible)
    output_tokens = np.where(processed, np.maximum(visible.astype(np.int64), 1) + reasoning, 0)
    cached, write, write_1h = _prompt_cache(
        rng,
        model,
        input_tokens,
        p["cache_read"][route],
        p["cache_write"][route],
        p["cache_1h"][route],
        p["prefix_min"][route],
        p["prefix_max"][route],
    )
    last_step = step + 1 >= a["steps"][idx]
    mean_tools = p["tool_calls_mean"][route]
    agent = p["steps_max"][route] > 1  # an agent calls tools at every step but its answer
    agent_tools = np.where(last_step, 0, 1 + rng.poisson(np.maximum(mean_tools - 1, 0)))
    tools = np.where(agent, agent_tools, rng.poisson(mean_tools))
    tool_calls = np.where(processed & ~hit, tools, 0)

    checked = (status == OK) & ~hit & (p["check"][route] > 0)
    passed = rng.random(n) >= p["check_fail"][route, tier]
    quality = np.where(checked, passed.astype(np.int64), -1)
    week.emit(
        idx,
        model,
        role,
        status,
        error_type=error_type,
        reason=np.where(role == FALLBACK, reason, -1),
        quality=quality,
        input=input_tokens,
        cached=cached,
        write=write,
        write_1h=write_1h,
        output=output_tokens,
        reasoning=reasoning,
        tool_calls=tool_calls,
        hit=hit,
    )
    validated = checked & (p["check"][route] == CHECKS.index("validation"))
    if validated.any():
        _validation_call(week, idx[validated], route[validated], output_tokens[validated] - reasoning[validated])
    return status, quality, error_type


def _validation_call(week: _Week, idx, route, answer_tokens) -> None:
    """A cheap model reads the answer and returns a verdict (set on the checked call)."""
    rng, n = week.rng, idx.size
    week.wait(idx, 10, 100)
    model = week.p["models"][route, 0]
    input_tokens = (answer_tokens + _lognormal(rng, sc.VALIDATION_PROMPT_TOKENS, 0.2, n)).astype(np.int64)
    cached, _, _ = _prompt_cache(rng, model, input_tokens, 0.8, 0.0, 0.0, 0.3, 0.5)
    output_tokens = np.maximum(_lognormal(rng, *sc.VALIDATION_OUTPUT, n), 1).astype(np.int64)
    week.emit(idx, model, ROLE["validation"], np.full(n, OK), input=input_tokens, cached=cached, output=output_tokens)


def _opening_calls(week: _Week) -> None:
    """The router's classifier, then the reranker, before the answering calls."""
    rng, p, a = week.rng, week.p, week.a
    idx = np.flatnonzero(p["classifier"][a["route"]])
    n = idx.size
    model = np.full(n, MODEL_INDEX[sc.CLASSIFIER])
    tokens = sc.CLASSIFIER_TOKENS
    input_tokens = _lognormal(rng, tokens.input_median, tokens.input_sigma, n).astype(np.int64)
    cached, _, _ = _prompt_cache(rng, model, input_tokens, 0.9, 0.0, 0.0, 0.8, 0.9)
    output_tokens = np.maximum(_lognormal(rng, tokens.output_median, tokens.output_sigma, n), 1)
    week.emit(
        idx,
        model,
        ROLE["classifier"],
        np.full(n, OK),
        input=input_tokens,
        cached=cached,
        output=output_tokens.astype(np.int64),
    )
    week.wait(idx, 5, 40)

    idx = np.flatnonzero(p["tool_model"][a["route"]] >= 0)
    n = idx.size
    week.wait(idx, 50, 300)  # retrieval
    tokens = sc.RERANK_TOKENS
    input_tokens = _lognormal(rng, tokens.input_median, tokens.input_sigma, n).astype(np.int64)
    model = p["tool_model"][a["route"][idx]]
    week.emit(idx, model, ROLE["tool"], np.full(n, OK), input=input_tokens)
    week.wait(idx, 5, 40)


def _prompt(week: _Week, idx: np.ndarray, step: np.ndarray) -> np.ndarray:
    """The prompt size of each action's current step (retries and fallbacks resend it)."""
    p, route = week.p, week.a["route"][idx]
    size = _lognormal(week.rng, p["input_median"][route], p["input_sigma"][route], idx.size)
    return size * p["input_scale"][route] * (1 + p["context_growth"][route] * step)


def _play_chains(week: _Week) -> None:
    """Every action's attempts: retry on transient errors, fall back, validate, take agent steps."""
    p, a = week.p, week.a
    n = a["route"].size
    tier, role, reason = a["tier"].copy(), np.full(n, PRIMARY), np.full(n, -1)
    retries, quality_retries = np.zeros(n, int), np.zeros(n, int)
    on_fallback, steps_done = np.zeros(n, bool), np.zeros(n, int)
    prompt = _prompt(week, np.arange(n), steps_done)
    active = np.ones(n, bool)
    for _ in range(MAX_PASSES):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        route = a["route"][idx]
        status, quality, error_type = _generation_call(
            week, idx, role[idx], tier[idx], reason[idx], prompt[idx], steps_done[idx]
        )
        good = (status == OK) & (quality != 0)
        context = error_type == ERR["context_length_exceeded"]
        transient = (status == RATE_LIMITED) | (status == TIMEOUT) | ((status == ERROR) & ~context)
        rejected = (status == OK) & (quality == 0)
        used_fallback = on_fallback[idx]
        retry = transient & (retries[idx] < p["max_retries"][route])
        revise = rejected & (p["check"][route] == CHECKS.index("validation"))
        revise &= (quality_retries[idx] < 1) & ~used_fallback
        fall_back = ~good & ~retry & ~revise & ~used_fallback & (status != REFUSED)
        failed = ~good & ~retry & ~revise & ~fall_back

        done = steps_done[idx] + good
        completed = good & (done >= a["steps"][idx])
        abandoned = good & ~completed & (done >= a["abandon_at"][idx])
        next_step = good & ~completed & ~abandoned

        cause = np.select(
            [status == RATE_LIMITED, status == TIMEOUT, status == INVALID, rejected, context],
            [REASON[r] for r in ("rate_limited", "timeout", "invalid_output", "quality_check_failed")]
            + [REASON["context_length_exceeded"]],
            REASON["provider_error"],
        )
        fallback_tier = p["fallback"][route]
        current = tier[idx]
        fallback_tier = np.where(fallback_tier == current, np.where(current > 0, current - 1, 1), fallback_tier)

        steps_done[idx] = done
        retries[idx] = np.where(retry, retries[idx] + 1, np.where(fall_back | next_step, 0, retries[idx]))
        quality_retries[idx] = np.where(next_step, 0, quality_retries[idx] + revise)
        role[idx] = np.select([retry | revise, fall_back, next_step], [RETRY, FALLBACK, PRIMARY], role[idx])
        tier[idx] = np.select([fall_back, next_step], [fallback_tier, a["tier"][idx]], current)
        on_fallback[idx] = np.where(next_step, False, used_fallback | fall_back)
        reason[idx] = np.where(fall_back, cause, reason[idx])
        stepping = idx[next_step]
        prompt[stepping] = _prompt(week, stepping, steps_done[stepping])
        week.outcome[idx[completed]] = OUTCOME["completed"]
        week.outcome[idx[abandoned]] = OUTCOME["abandoned"]
        week.outcome[idx[failed]] = OUTCOME["failed"]
        active[idx[completed | abandoned | failed]] = False

        # Time until the next attempt: backoff, a fallback's hand-over, an agent's tool run.
        batch = p["batch"][route]
        backoff = np.where(status == RATE_LIMITED, 1000.0 * 2.0 ** retries[idx], 800.0)
        gap = np.select([retry, revise | fall_back, next_step], [backoff, 150.0, 4000.0], 0.0)
        week.wait(idx, 20, np.maximum(gap * np.where(batch, 60, 1), 21))


def _simulate(rng: np.random.Generator, n: int, monday: date, week: int) -> tuple[dict, dict]:
    """`n` actions of one week: their attributes and their calls."""
    sim = _Week(rng, n, monday, week)
    _opening_calls(sim)
    _play_chains(sim)
    calls = {k: np.concatenate([np.asarray(c[k]) for c in sim.calls]) for k in sim.calls[0]}
    # An agent framework reports the outcome on the action's last call.
    last = calls["seq"] == sim.seq[calls["action"]] - 1
    reports = sim.p["reports_outcome"][sim.a["route"][calls["action"]]]
    calls["outcome"] = np.where(last & reports, sim.outcome[calls["action"]], -1)
    actions = dict(sim.a, policy=sim.p["policy"][sim.a["route"]], team=sim.p["team"][sim.a["route"]])
    return actions, calls


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


def _labels(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
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
        actions, calls = _simulate(rng, n, monday, week)
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
        "route": _labels(ROUTE_NAMES, actions["route"][act]),
        "call_role": _labels(CALL_ROLES, c["role"]),
        "provider": _labels(MODEL_PROVIDERS, c["model"]),
        "model": _labels(MODEL_NAMES, c["model"]),
        "status": _labels(STATUSES, c["status"]),
        "quality_passed": pa.array(c["quality"] == 1, mask=c["quality"] < 0),
        "action_outcome": _labels(OUTCOMES, c["outcome"]),
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
        "service_tier": _labels(SERVICE_TIERS, c["service_tier"]),
        "fallback_reason": _labels(FALLBACK_REASONS, c["reason"]),
        "error_type": _labels(ERROR_TYPES, c["error_type"]),
        "user_tier": _labels(USER_TIERS, actions["user_tier"][act]),
        "workload_class": _labels(WORKLOADS, actions["workload"][act]),
        "team": _labels(TEAMS, actions["team"][act]),
        "project": _labels(PROJECTS, actions["project"][act]),
        "feature": _labels(FEATURES, actions["feature"][act]),
        "environment": _labels(ENVIRONMENTS, actions["environment"][act]),
        "policy_version": _labels(POLICIES, actions["policy"][act]),
        "region": _labels(REGIONS, actions["region"][act]),
        "logged_cost_usd": pa.nulls(target, pa.float64()),
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


def _weeks(
    n_calls: int, seed: int, end: date | None, weeks: int, inject_issues: bool
) -> Iterator[tuple[date, pa.Table, np.ndarray]]:
    targets = _weekly_targets(n_calls, weeks)
    for week, (monday, target) in enumerate(zip(_mondays(end, weeks), targets, strict=True), start=1):
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
) -> Iterator[tuple[date, pa.Table]]:
    """(Monday, calls) for each ISO week, oldest first; the calls are canonical rows in ts order.

    `n_calls` are spread over the weeks (growing week on week); `end` is the period's last
    Sunday (default: the last one before today). With `inject_issues`, the ISSUE_WEEK table
    holds the demo's bad and duplicate gateway rows (its ts column is then nullable); a
    line cut mid-JSON only exists in the file `write_demo` writes.
    """
    for monday, table, _ in _weeks(n_calls, seed, end, weeks, inject_issues):
        yield monday, table


def _utc_offset_minutes(ms: np.ndarray, zone: str) -> np.ndarray:
    """The zone's UTC offset at each epoch-ms instant (offsets change on the hour in UTC)."""
    if ms.size == 0:
        return np.zeros(0, dtype=np.int64)
    tz = ZoneInfo(zone)
    first, last = int(ms.min() // HOUR_MS), int(ms.max() // HOUR_MS)
    hourly = [datetime.fromtimestamp(h * 3600, tz=tz).utcoffset().total_seconds() // 60 for h in range(first, last + 1)]
    return np.array(hourly, dtype=np.int64)[ms // HOUR_MS - first]


def _iso_timestamps(table: pa.Table) -> pa.Array:
    """ts as ISO-8601 text: local time with its offset in GATEWAY_TIMEZONE regions, else UTC 'Z'."""
    ts = table["ts"].combine_chunks()
    ms = ts.cast(pa.int64()).fill_null(0).to_numpy()
    region = table["region"].to_numpy(zero_copy_only=False)
    offset = np.full(ms.size, -1_000_000)  # no offset: UTC
    for name, zone in sc.GATEWAY_TIMEZONE.items():
        local = region == name
        offset[local] = _utc_offset_minutes(ms[local], zone)
    shifted = np.where(offset == -1_000_000, ms, ms + offset * 60_000)
    text = pc.strftime(pa.array(shifted, pa.timestamp("ms")), format="%Y-%m-%dT%H:%M:%S")
    kinds, code = np.unique(offset, return_inverse=True)
    suffixes = tuple(
        "Z" if k == -1_000_000 else f"{'+' if k >= 0 else '-'}{abs(k) // 60:02d}:{abs(k) % 60:02d}" for k in kinds
    )
    joined = pc.binary_join_element_wise(text, _labels(suffixes, code), "")
    return pc.if_else(ts.is_null(), pa.scalar(None, pa.string()), joined)


def _as_text_ts(table: pa.Table) -> pa.Table:
    i = table.schema.get_field_index("ts")
    return table.set_column(i, pa.field("ts", pa.string()), _iso_timestamps(table))


def _ndjson(table: pa.Table) -> bytes:
    """JSON lines, one per row, keys in FIELD_NAMES order, ts as ISO-8601 text."""
    buffer = io.BytesIO()
    pl.from_arrow(_as_text_ts(table)).write_ndjson(buffer)
    return buffer.getvalue()


def _broken_ndjson(table: pa.Table, cut: np.ndarray) -> bytes:
    """JSON lines with the missing-ts rows' key dropped and the `cut` rows' lines cut in half."""
    data = _ndjson(table).replace(b'"ts":null,', b"")
    lines = data.split(b"\n")
    for row in cut:  # a handful of rows
        lines[row] = lines[row][: len(lines[row]) // 2]
    return b"\n".join(lines)


def write_demo(
    out_dir: Path, n_calls: int = 1_000_000, seed: int = 7, end: date | None = None, weeks: int = 12
) -> list[Path]:
    """Write the demo's log files under `out_dir` and return their paths.

    `gateway/gateway-<monday>.jsonl.gz`: every route but the batch one, one file per week;
    `batch/batch-worker-<monday>.parquet`: the batch route, written by its workers. The
    ISSUE_WEEK gateway file (only that one) holds bad lines and re-emitted duplicates.
    Earlier demo files in those folders are removed first, so the folder is one period.
    """
    out_dir = Path(out_dir)
    gateway_dir, batch_dir = out_dir / "gateway", out_dir / "batch"
    for folder, pattern in ((gateway_dir, "gateway-*.jsonl.gz"), (batch_dir, "batch-worker-*.parquet")):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(pattern):
            old.unlink()
    paths = []
    for monday, table, cut in _weeks(n_calls, seed, end, weeks, inject_issues=True):
        is_batch = pc.equal(table["route"], sc.BATCH_ROUTE)
        gateway = table.filter(pc.invert(is_batch))
        gateway_rows = np.cumsum(~is_batch.to_numpy(zero_copy_only=False)) - 1
        gateway_path = gateway_dir / f"gateway-{monday.isoformat()}.jsonl.gz"
        data = _broken_ndjson(gateway, gateway_rows[cut]) if cut.size else _ndjson(gateway)
        gateway_path.write_bytes(gzip.compress(data, compresslevel=3, mtime=0))
        batch_path = batch_dir / f"batch-worker-{monday.isoformat()}.parquet"
        pq.write_table(table.filter(is_batch), batch_path, compression="zstd")
        paths += [gateway_path, batch_path]
    return paths


def write_calls(path: Path, n_calls: int, seed: int = 7, fmt: str = "parquet", end: date | None = None) -> Path:
    """One clean file of `n_calls` calls (12 weeks), written week by week in bounded memory.

    `fmt`: parquet (ts as timestamp with time zone), jsonl or csv (ts as ISO-8601 text, as
    the gateway logs it); a path ending in .gz is gzip-compressed.
    """
    if fmt not in FORMATS:
        raise ValueError(f"write_calls: fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    weeks = iter_weeks(n_calls, seed, end)
    if fmt == "parquet":
        with pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer:
            for _, table in weeks:
                writer.write_table(table)
        return path
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as out:
        if fmt == "jsonl":
            for _, table in weeks:
                out.write(_ndjson(table))
        else:
            text_schema = _as_text_ts(SCHEMA.empty_table()).schema
            with pacsv.CSVWriter(out, text_schema) as writer:
                for _, table in weeks:
                    writer.write_table(_as_text_ts(table))
    return path

"""The demo's world as arrays: `scenario.py` compiled for the simulation.

Codes of the enums the rows carry, the models the demo calls with the sizes that set their
latency, each route's parameters as arrays indexed by route code (in effect in a given week,
stories applied), the UTC hour profiles by region, and the calendar: the ISO weeks of the
period and how many calls each one holds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from pipelines.demo import scenario as sc
from pipelines.ingest.fields import CALL_ROLES, OUTCOMES, STATUSES

DAY_MS = 86_400_000
HOUR_MS = 3_600_000

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
    p["canary_share"] = np.zeros(len(ROUTES))
    p["canary_policy"] = p["policy"].copy()
    p["canary_low_invalid"] = np.full(len(ROUTES), np.nan)
    for story in sc.STORIES:
        if week == story.week - 1 and story.canary_share:
            r = ROUTE_NAMES.index(story.route)
            p["canary_share"][r] = story.canary_share
            p["canary_policy"][r] = POLICIES.index(story.policy_version)
            if story.low_tier_invalid_output is not None:
                p["canary_low_invalid"][r] = story.low_tier_invalid_output
        if week >= story.week:
            r = ROUTE_NAMES.index(story.route)
            p["policy"][r] = POLICIES.index(story.policy_version)
            p["input_scale"][r] = story.input_scale
            if story.low_tier_invalid_output is not None:
                p["low_invalid"][r] = story.low_tier_invalid_output
    return p


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


# --- dates and volume ------------------------------------------------------------------------


def default_end(today: date | None = None) -> date:
    """The last Sunday strictly before `today` (UTC): the demo then covers complete ISO weeks."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=today.weekday() + 1)


def mondays(end: date | None, weeks: int) -> list[date]:
    """The Mondays of the `weeks` ISO weeks ending on the last Sunday on or before `end`."""
    end = default_end() if end is None else end - timedelta(days=(end.weekday() + 1) % 7)
    first = end - timedelta(days=6 + 7 * (weeks - 1))
    return [first + timedelta(weeks=w) for w in range(weeks)]


def weekly_targets(n_calls: int, weeks: int) -> np.ndarray:
    """Calls per week, growing by WEEKLY_GROWTH, summing to exactly `n_calls`."""
    weight = (1 + sc.WEEKLY_GROWTH) ** np.arange(weeks)
    targets = np.floor(n_calls * weight / weight.sum()).astype(np.int64)
    targets[-1] += n_calls - targets.sum()
    return targets


def epoch_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)

"""The team's routing policy and budgets (`pricing/policy.yaml`), validated with pydantic.

The file beside the price catalog says, per route, what the routing may do (tiers and
models, fallback, retry and premium limits, caps per action and per call, a cost
ceiling, a latency budget, a quality floor, a lifecycle), and what may be spent (daily
caps per tier, team and in total, each route's share of premium spend, a monthly
budget). `routeledger build` reads the `policy.yaml` beside the catalog it prices with
(or `--policy PATH`) and loads it into raw.policy_limits, raw.policy_lists and
raw.policy_routes, so SQL models compute the violations (marts.policy_violations) and
the budgets (marts.budget_status); Python only checks and moves the numbers.

    version: 2026-12            # optional: a label shown beside findings
    regression_threshold: 0.25  # marts.cost_regressions: cost per completed action up > 25%
    routes:
      - route: classification
        workload_class: simple
        lifecycle: managed                  # experimental | managed | deprecated
        allowed_tiers: [low, balanced]
        allowed_models: [gpt-5.4-nano]      # logged model ids
        max_fallback_rate: 0.10             # shares are 0..1
        max_retry_rate: 0.15
        max_premium_share: 0.05
        max_retries_per_action: 2           # retry calls in any one action
        max_tool_calls_per_action: 4
        max_cost_per_completed_action_usd: 0.002
        p95_latency_budget_ms: 3000
        min_completion_rate: 0.95           # the quality floor
        max_input_tokens_per_call: 8000     # context budget
        max_output_tokens_per_call: 500     # response-length cap
        requires:                           # capabilities of the priced model (catalog `capabilities:`)
          tool_calling: true
          structured_output: true
          min_context_window: 128000
          regions: [eu]                     # calls logged elsewhere, or on a model stated to run elsewhere
        warn_only: [p95_latency_budget_ms]  # these rules report as warnings, not breaches
    budgets:
      daily: {total: 500, tiers: {premium: 300}, teams: {search: 120}}
      premium_quotas: {rag_answer: 0.6}     # a route's share of the week's premium spend
      monthly_usd: 12000
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.errors import UserError, first_line

POLICY_FILE = "policy.yaml"
MAX_POLICY_BYTES = 4 * 1024 * 1024

Share = Annotated[Decimal, Field(ge=0, le=1)]
Positive = Annotated[Decimal, Field(gt=0)]
Count = Annotated[int, Field(ge=0)]
Tier = Literal["low", "balanced", "premium"]

# the per-route limits, each compared with one actual per route-week (marts.policy_violations)
LIMIT_RULES = (
    "max_fallback_rate",
    "max_retry_rate",
    "max_premium_share",
    "max_retries_per_action",
    "max_tool_calls_per_action",
    "max_cost_per_completed_action_usd",
    "p95_latency_budget_ms",
    "min_completion_rate",
    "max_input_tokens_per_call",
    "max_output_tokens_per_call",
)
LIST_RULES = ("allowed_tiers", "allowed_models")
# `requires:` rules, each counting offending calls per route-week (intermediate.int_policy_call_checks)
CAPABILITY_RULES = (
    "requires_tool_calling",
    "requires_structured_output",
    "requires_context_window",
    "requires_region",
)
RULES = (*LIMIT_RULES, *LIST_RULES, *CAPABILITY_RULES, "lifecycle")


class Requires(BaseModel):
    """Capabilities every call of the route needs from its priced model (the catalog's `capabilities:`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool_calling: Literal[True] | None = None
    structured_output: Literal[True] | None = None
    min_context_window: Annotated[int, Field(gt=0)] | None = None
    regions: list[str] | None = None

    @field_validator("regions")
    @classmethod
    def _lower_regions(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        names = sorted({value.strip().lower() for value in values})
        if not names or "" in names:
            raise ValueError("name at least one region, none blank")
        return names

    def rules(self) -> dict[str, Decimal]:
        """The requirements as policy limits: the minimum context window, else 0 offending calls."""
        rules: dict[str, Decimal] = {}
        if self.tool_calling:
            rules["requires_tool_calling"] = Decimal(0)
        if self.structured_output:
            rules["requires_structured_output"] = Decimal(0)
        if self.min_context_window is not None:
            rules["requires_context_window"] = Decimal(self.min_context_window)
        if self.regions is not None:
            rules["requires_region"] = Decimal(0)
        return rules


class RoutePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    route: str = Field(min_length=1)
    workload_class: str | None = None
    lifecycle: Literal["experimental", "managed", "deprecated"] = "managed"
    allowed_tiers: list[Tier] | None = None
    allowed_models: list[str] | None = None
    max_fallback_rate: Share | None = None
    max_retry_rate: Share | None = None
    max_premium_share: Share | None = None
    max_retries_per_action: Count | None = None
    max_tool_calls_per_action: Count | None = None
    max_cost_per_completed_action_usd: Positive | None = None
    p95_latency_budget_ms: Positive | None = None
    min_completion_rate: Share | None = None
    max_input_tokens_per_call: Count | None = None
    max_output_tokens_per_call: Count | None = None
    requires: Requires | None = None
    warn_only: list[str] = []

    @field_validator("warn_only")
    @classmethod
    def _known_rules(cls, rules: list[str]) -> list[str]:
        unknown = [rule for rule in rules if rule not in RULES]
        if unknown:
            raise ValueError(f"unknown rule {unknown[0]!r}; the rules are {', '.join(RULES)}")
        return rules


class DailyCaps(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    total: Positive | None = None
    tiers: dict[Tier, Positive] = {}
    teams: dict[str, Positive] = {}


class Budgets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    daily: DailyCaps = DailyCaps()
    premium_quotas: dict[str, Share] = {}
    monthly_usd: Positive | None = None


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str | None = None
    regression_threshold: Positive = Decimal("0.25")
    routes: list[RoutePolicy] = []
    budgets: Budgets = Budgets()

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        return None if value is None else str(value)

    @model_validator(mode="after")
    def _one_entry_per_route(self) -> Policy:
        seen: set[str] = set()
        for entry in self.routes:
            if entry.route in seen:
                raise ValueError(f"route {entry.route!r} has two entries; keep one")
            seen.add(entry.route)
        return self


def policy_beside(catalog: Path | None) -> Path | None:
    """policy.yaml in the price catalog's folder (the team's FinOps configuration in one place), if there is one."""
    if catalog is None:
        return None
    candidate = catalog.parent / POLICY_FILE
    return candidate if candidate.exists() else None


def load_policy(path: Path | None) -> Policy:
    """The policy at `path`; an empty policy (no rules, no budgets) when there is none."""
    if path is None:
        return Policy()
    data = _read_yaml(path)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{path}: {_describe(exc, data)}") from exc


def _read_yaml(path: Path) -> object:
    from pipelines.prices.catalog import _DecimalLoader  # floats as Decimal, aliases bounded

    if not path.is_file():
        raise UserError(f"{path}: no such policy file (expected a YAML file such as pricing/policy.yaml)")
    if path.stat().st_size > MAX_POLICY_BYTES:
        raise UserError(f"{path}: larger than {MAX_POLICY_BYTES // 1024 // 1024} MiB; not a policy file")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_DecimalLoader) or {}
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UserError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or first_line(exc)}") from exc


def _describe(exc: ValidationError, data: object) -> str:
    """One line per problem, naming the entry (routes[i] (route)) and the field."""
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ".".join(str(part) for part in loc)
        if len(loc) >= 2 and loc[0] == "routes" and isinstance(loc[1], int):
            try:
                name = data["routes"][loc[1]].get("route")  # type: ignore[index]
            except (KeyError, IndexError, TypeError, AttributeError):
                name = None
            where = f"routes[{loc[1]}] ({name}): " + ".".join(str(part) for part in loc[2:])
        got = f", got {error['input']!r}" if "input" in error and not isinstance(error["input"], dict) else ""
        problems.append(f"{where}: {error['msg']}{got}")
    return "; ".join(problems)


# ---- into the warehouse: three raw tables the SQL models read --------------------------

LIMIT = pa.decimal128(38, 9)

POLICY_LIMITS_SCHEMA = pa.schema(
    [
        ("scope_kind", pa.string()),  # route | tier | team | total
        ("scope", pa.string()),  # the route, tier or team; 'total' for the total
        ("rule", pa.string()),
        ("limit_value", LIMIT),
        ("severity", pa.string()),  # breach | warning
        ("policy_version", pa.string()),
    ]
)
POLICY_LISTS_SCHEMA = pa.schema([("route", pa.string()), ("rule", pa.string()), ("value", pa.string())])
POLICY_ROUTES_SCHEMA = pa.schema(
    [
        ("route", pa.string()),
        ("workload_class", pa.string()),
        ("lifecycle", pa.string()),
        ("severity", pa.string()),  # of the lifecycle rule
        ("policy_version", pa.string()),
    ]
)


def policy_tables(policy: Policy) -> dict[str, pa.Table]:
    """raw.policy_limits, raw.policy_lists and raw.policy_routes for this policy."""
    version = policy.version
    limits: list[dict] = []
    lists: list[dict] = []
    routes: list[dict] = []
    for entry in policy.routes:

        def severity(rule: str, entry: RoutePolicy = entry) -> str:
            return "warning" if rule in entry.warn_only else "breach"

        routes.append(
            {
                "route": entry.route,
                "workload_class": entry.workload_class,
                "lifecycle": entry.lifecycle,
                "severity": severity("lifecycle"),
                "policy_version": version,
            }
        )
        for rule in LIMIT_RULES:
            value = getattr(entry, rule)
            if value is not None:
                limits.append(_limit("route", entry.route, rule, value, severity(rule), version))
        for rule in LIST_RULES:
            for value in getattr(entry, rule) or []:
                lists.append({"route": entry.route, "rule": rule, "value": value})
            if getattr(entry, rule) is not None:  # the list's severity travels as a limit of 0 offending calls
                limits.append(_limit("route", entry.route, rule, Decimal(0), severity(rule), version))
        if entry.requires is not None:
            for rule, value in entry.requires.rules().items():
                limits.append(_limit("route", entry.route, rule, value, severity(rule), version))
            for region in entry.requires.regions or []:
                lists.append({"route": entry.route, "rule": "requires_region", "value": region})
    budgets = policy.budgets
    if budgets.daily.total is not None:
        limits.append(_limit("total", "total", "daily_cap_usd", budgets.daily.total, "breach", version))
    for tier, cap in budgets.daily.tiers.items():
        limits.append(_limit("tier", tier, "daily_cap_usd", cap, "breach", version))
    for team, cap in budgets.daily.teams.items():
        limits.append(_limit("team", team, "daily_cap_usd", cap, "breach", version))
    for route, share in budgets.premium_quotas.items():
        limits.append(_limit("route", route, "premium_spend_quota", share, "breach", version))
    if budgets.monthly_usd is not None:
        limits.append(_limit("total", "total", "monthly_budget_usd", budgets.monthly_usd, "breach", version))
    limits.append(_limit("total", "total", "regression_threshold", policy.regression_threshold, "warning", version))
    return {
        "raw.policy_limits": pa.Table.from_pylist(limits, schema=POLICY_LIMITS_SCHEMA),
        "raw.policy_lists": pa.Table.from_pylist(lists, schema=POLICY_LISTS_SCHEMA),
        "raw.policy_routes": pa.Table.from_pylist(routes, schema=POLICY_ROUTES_SCHEMA),
    }


def _limit(scope_kind: str, scope: str, rule: str, value: Decimal, severity: str, version: str | None) -> dict:
    if value != value.quantize(Decimal("1e-9")):
        raise UserError(f"policy: {scope_kind} {scope}: {rule}: at most 9 decimal places, got {value}")
    return {
        "scope_kind": scope_kind,
        "scope": scope,
        "rule": rule,
        "limit_value": value,
        "severity": severity,
        "policy_version": version,
    }

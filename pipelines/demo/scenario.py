"""The demo's world as data: the routes, their routing tables and traffic, and the two stories.

`generator.py` turns this into canonical routing-log rows (DESIGN.md §2). Every number a
user might ask "why is it like that?" about lives here, not in the generator.

Probabilities are per call unless a name says otherwise; token sizes are lognormal
(a median and a sigma); weeks are 1-based within the generated period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

TIERS = ("low", "balanced", "premium")


@dataclass(frozen=True)
class Model:
    provider: str
    model: str  # as the gateway logs it (dated snapshot ids where a team pins one)


@dataclass(frozen=True)
class Tokens:
    input_median: float
    input_sigma: float
    output_median: float
    output_sigma: float


@dataclass(frozen=True)
class Failures:
    """Per-call chances of each non-`ok` outcome of a generation call."""

    rate_limited: float = 0.008  # 429: retried after a backoff
    timeout: float = 0.003
    error: float = 0.003  # 500/503
    invalid_output: float = 0.0  # the answer breaks the route's output schema: straight to fallback
    refused: float = 0.0  # the model declines: the action fails
    context_length: float = 0.0  # first attempt only: the prompt exceeds the model's window


@dataclass(frozen=True)
class Route:
    name: str
    share: float  # share of actions
    models: Mapping[str, Model]  # tier -> the model serving it
    primary_tier: str  # by policy
    fallback_tier: str  # where a failed attempt goes (one tier down if already there)
    team: str
    projects: Mapping[str, float]
    features: Mapping[str, float]
    policy_version: str
    workload: Mapping[str, float]  # workload_class -> share
    tokens: Tokens  # of a generation call
    failures: Failures = field(default_factory=Failures)
    max_retries: int = 2  # per attempt chain, on rate_limited / timeout / error
    hours: str = "office"  # key of HOURS: when in the (local) day actions start
    escalate: float = 0.0  # share of actions the router sends one tier above policy
    enterprise_premium: float = 0.0  # share of enterprise actions routed to premium
    classifier: bool = False  # a low-tier router classifier call opens each action
    tool_model: Model | None = None  # a `tool` call (reranker) before the answer
    steps: tuple[int, int] = (1, 1)  # generation steps per action (agents take several)
    context_growth: float = 0.0  # each further step's prompt grows by this share of the first
    abandon: float = 0.0  # share of actions the user abandons midway
    reports_outcome: bool = False  # the framework sets action_outcome on the last call
    check: str | None = None  # "schema" (checked inline) | "validation" (a cheap model checks)
    check_fail: Mapping[str, float] = field(default_factory=dict)  # tier -> chance the check rejects
    tool_calls_mean: float = 0.0  # tool invocations per answering call (Poisson)
    reasoning: bool = False  # premium calls think: reasoning tokens
    cache_read: float = 0.2  # chance a call reads a cached prompt prefix (OpenAI, Google, Anthropic)
    cache_write: float = 0.1  # Anthropic only: chance a call writes its prefix to the cache
    cache_1h: float = 0.0  # share of cache writes with the 1-hour TTL
    prefix_share: tuple[float, float] = (0.3, 0.7)  # cached prefix / input, uniform in this range
    response_cache: float = 0.0  # share of primary calls the gateway's response cache serves
    flex: float = 0.0  # share of OpenAI calls sent with service_tier flex
    batch: bool = False  # sent through provider batch APIs, finishes in minutes
    private_low: tuple[Model, float] | None = None  # another model taking a share of low-tier actions


OPENAI_NANO = Model("openai", "gpt-5.4-nano")
GEMINI_LITE = Model("google", "gemini-3.1-flash-lite")
MISTRAL_SMALL = Model("mistral", "mistral-small-latest")
MINISTRAL = Model("mistral", "ministral-8b-latest")
OPENAI_MINI = Model("openai", "gpt-5.4-mini")
OPENAI_MINI_PINNED = Model("openai", "gpt-5.4-mini-2026-03-17")
HAIKU = Model("anthropic", "claude-haiku-4-5-20251001")
GEMINI_FLASH = Model("google", "gemini-3.5-flash")
MISTRAL_MEDIUM = Model("mistral", "mistral-medium-latest")
OPENAI_FULL = Model("openai", "gpt-5.4")
SONNET = Model("anthropic", "claude-sonnet-4-6")
OPUS = Model("anthropic", "claude-opus-4-7")
GEMINI_PRO = Model("google", "gemini-3.1-pro-preview")

# Private models: the fine-tune is priced in pricing/catalog.yaml; the reranker nowhere,
# so its calls show as unpriced.
FAQ_FINE_TUNE = Model("mistral", "acme-faq-ft-v2")
RERANKER = Model("mistral", "acme-rerank-v1")
# DeepSeek takes a share of classification's low tier, around the clock in both regions,
# so its calls fall in and out of its weekday peak windows (pricing/catalog.yaml).
DEEPSEEK_CHAT = Model("deepseek", "deepseek-chat")

CLASSIFIER = OPENAI_NANO  # the router's classifier, shared by the routes that use one
CLASSIFIER_TOKENS = Tokens(1250, 0.25, 6, 0.4)
RERANK_TOKENS = Tokens(7000, 0.3, 0, 0.0)  # query + candidates in, scores out
VALIDATION_PROMPT_TOKENS = 700  # instructions the validator reads besides the checked answer
VALIDATION_OUTPUT = (40, 0.5)  # (median, sigma) of a verdict


ROUTES: tuple[Route, ...] = (
    Route(
        name="classification",
        share=0.26,
        models={"low": OPENAI_NANO, "balanced": GEMINI_FLASH, "premium": OPENAI_FULL},
        primary_tier="low",
        fallback_tier="premium",
        team="platform",
        projects={"intent-router": 0.7, "ticket-triage": 0.3},
        features={"intent-label": 0.6, "language-detect": 0.15, "priority-label": 0.25},
        policy_version="cls-v2",
        workload={"interactive": 1.0},
        tokens=Tokens(1400, 0.35, 10, 0.5),
        failures=Failures(invalid_output=0.025),
        max_retries=1,
        cache_read=0.6,
        prefix_share=(0.7, 0.9),
        private_low=(DEEPSEEK_CHAT, 0.25),
    ),
    Route(
        name="extraction",
        share=0.12,
        models={"low": MISTRAL_SMALL, "balanced": HAIKU, "premium": SONNET},
        primary_tier="balanced",
        fallback_tier="premium",
        team="data",
        projects={"doc-ingest": 0.65, "contracts": 0.35},
        features={"invoice-fields": 0.5, "contract-clauses": 0.3, "receipt-fields": 0.2},
        policy_version="ext-v4",
        workload={"background": 0.6, "interactive": 0.4},
        tokens=Tokens(5500, 0.7, 420, 0.5),
        failures=Failures(invalid_output=0.01),
        hours="workday",
        enterprise_premium=0.2,
        check="schema",
        check_fail={"low": 0.12, "balanced": 0.05, "premium": 0.02},
        cache_read=0.55,
        cache_write=0.2,
        cache_1h=0.05,
        prefix_share=(0.3, 0.6),
    ),
    Route(
        name="summarization",
        share=0.08,
        models={"low": GEMINI_LITE, "balanced": OPENAI_MINI, "premium": SONNET},
        primary_tier="balanced",
        fallback_tier="premium",
        team="support",
        projects={"helpdesk": 0.8, "sales-notes": 0.2},
        features={"ticket-summary": 0.6, "thread-digest": 0.25, "call-notes": 0.15},
        policy_version="sum-v2",
        workload={"interactive": 0.5, "background": 0.5},
        tokens=Tokens(11000, 0.8, 320, 0.4),
        failures=Failures(context_length=0.004),
        hours="workday",
        enterprise_premium=0.3,
        cache_read=0.25,
        prefix_share=(0.1, 0.3),
        flex=0.35,
    ),
    Route(
        name="support_faq",
        share=0.20,
        models={"low": GEMINI_LITE, "balanced": OPENAI_MINI, "premium": SONNET},
        primary_tier="low",
        fallback_tier="balanced",
        team="support",
        projects={"help-center": 0.85, "in-app-help": 0.15},
        features={"faq-bot": 0.7, "billing-faq": 0.2, "order-status": 0.1},
        policy_version="faq-v7",
        workload={"interactive": 1.0},
        tokens=Tokens(2600, 0.35, 170, 0.5),
        failures=Failures(refused=0.002),
        escalate=0.15,
        enterprise_premium=0.3,
        classifier=True,
        cache_read=0.85,
        prefix_share=(0.6, 0.9),
        response_cache=0.22,
        private_low=(FAQ_FINE_TUNE, 0.10),
    ),
    Route(
        name="rag_answer",
        share=0.12,
        models={"low": MISTRAL_SMALL, "balanced": GEMINI_FLASH, "premium": GEMINI_PRO},
        primary_tier="balanced",
        fallback_tier="premium",
        team="search",
        projects={"knowledge-search": 0.75, "policy-assistant": 0.25},
        features={"ask-docs": 0.6, "ask-policies": 0.25, "ask-runbooks": 0.15},
        policy_version="rag-v4",
        workload={"interactive": 1.0},
        tokens=Tokens(33000, 0.5, 520, 0.45),
        failures=Failures(timeout=0.006),
        escalate=0.45,
        enterprise_premium=0.5,
        classifier=True,
        tool_model=RERANKER,
        tool_calls_mean=0.3,
        cache_read=0.45,
        prefix_share=(0.05, 0.15),
    ),
    Route(
        name="codegen",
        share=0.08,
        models={"low": OPENAI_NANO, "balanced": HAIKU, "premium": SONNET},
        primary_tier="balanced",
        fallback_tier="premium",
        team="devtools",
        projects={"code-assistant": 0.8, "migration-bot": 0.2},
        features={"fix-suggestion": 0.45, "unit-tests": 0.35, "refactor": 0.2},
        policy_version="code-v3",
        workload={"interactive": 0.85, "background": 0.15},
        tokens=Tokens(8500, 0.7, 850, 0.6),
        escalate=0.2,
        enterprise_premium=0.6,
        check="validation",
        check_fail={"low": 0.25, "balanced": 0.15, "premium": 0.07},
        reasoning=True,
        cache_read=0.55,
        cache_write=0.3,
        cache_1h=0.15,
        prefix_share=(0.4, 0.8),
    ),
    Route(
        name="planning",
        share=0.04,
        models={"low": MINISTRAL, "balanced": MISTRAL_MEDIUM, "premium": OPUS},
        primary_tier="premium",
        fallback_tier="balanced",
        team="platform",
        projects={"ops-agent": 0.6, "deploy-planner": 0.4},
        features={"incident-triage": 0.5, "change-plan": 0.5},
        policy_version="plan-v1",
        workload={"interactive": 0.6, "background": 0.4},
        tokens=Tokens(6500, 0.45, 600, 0.5),
        failures=Failures(timeout=0.006),
        steps=(2, 8),
        context_growth=0.5,
        abandon=0.06,
        reports_outcome=True,
        tool_calls_mean=1.6,
        reasoning=True,
        cache_read=0.7,
        cache_write=0.25,
        cache_1h=0.5,
        prefix_share=(0.5, 0.85),
    ),
    Route(
        name="batch_enrichment",
        share=0.10,
        models={"low": OPENAI_NANO, "balanced": OPENAI_MINI_PINNED, "premium": SONNET},
        primary_tier="balanced",
        fallback_tier="premium",
        team="data",
        projects={"catalog-enrichment": 1.0},
        features={"product-tags": 0.6, "product-descriptions": 0.4},
        policy_version="batch-v2",
        workload={"batch": 1.0},
        tokens=Tokens(1600, 0.4, 240, 0.4),
        failures=Failures(rate_limited=0.0, timeout=0.0, error=0.004),
        max_retries=3,
        hours="nightly",
        cache_read=0.7,
        prefix_share=(0.6, 0.8),
        batch=True,
    ),
)

BATCH_ROUTE = "batch_enrichment"  # logged by the batch workers, not the gateway


@dataclass(frozen=True)
class Story:
    """A change a user must be able to find in the numbers, from `week` to the end."""

    week: int
    route: str
    policy_version: str
    title: str
    low_tier_invalid_output: float | None = None  # replaces Failures.invalid_output on low-tier calls
    input_scale: float = 1.0  # multiplies the input tokens of the route's generation calls
    canary_share: float = 0.0  # the week before `week`, this share of the route's actions runs it as a canary


STORIES: tuple[Story, ...] = (
    Story(
        week=6,
        route="classification",
        policy_version="cls-v3",
        title="cls-v3's stricter output schema: the low tier fails it, actions fall back to premium",
        low_tier_invalid_output=0.40,
        canary_share=0.10,  # week 5: a 10% canary against cls-v2, then the full rollout
    ),
    Story(
        week=9,
        route="rag_answer",
        policy_version="rag-v5",
        title="retriever top_k 8 -> 40: gemini-3.1-pro-preview calls cross its 200k long-context price",
        input_scale=5.0,
    ),
)


@dataclass(frozen=True)
class PriceChange:
    """A negotiated price: from `week` on, the model's published rates times `factor`."""

    week: int
    provider: str
    model: str
    factor: str  # a decimal, kept exact
    title: str


# A price-only story: the same calls cost less from week 10 (pipelines/demo/config.py
# writes it into the demo's own copy of the catalog, dated to the demo's weeks).
PRICE_CHANGES: tuple[PriceChange, ...] = (
    PriceChange(10, "anthropic", "claude-opus-4-7", "0.8", "negotiated 20% off claude-opus-4-7"),
)


@dataclass(frozen=True)
class Incident:
    """A provider outage: its calls in the window fail with `error_rate`."""

    week: int
    weekday: int  # 0 = Monday
    hour_utc: int
    hours: float
    provider: str
    error_rate: float
    error_type: str


INCIDENTS: tuple[Incident, ...] = (Incident(3, 2, 15, 2.0, "anthropic", 0.5, "529"),)

# Actions whose every call is likely to fail (a poisoned input, a stuck upstream): the
# ones that fail entirely.
DEGRADED_ACTIONS = 0.003
DEGRADED_ERROR_RATE = 0.9

# Tags.
USER_TIERS = {"free": 0.55, "pro": 0.33, "enterprise": 0.12}
REGIONS = {"us-east-1": 0.65, "eu-west-1": 0.35}
REGION_UTC_OFFSET_HOURS = {"us-east-1": -5, "eu-west-1": 1}  # for the diurnal pattern only
ENVIRONMENTS = {"prod": 0.97, "staging": 0.03}
GATEWAY_TIMEZONE = {"eu-west-1": "Europe/Berlin"}  # the gateway logs these regions in local time

# Volume.
WEEKLY_GROWTH = 0.02
WEEKDAY_WEIGHTS = (1.0, 1.04, 1.03, 1.0, 0.93, 0.40, 0.38)  # Monday first
HOURS = {  # relative starts per local hour, 00..23
    "office": (
        0.12, 0.08, 0.06, 0.05, 0.05, 0.08, 0.18, 0.40, 0.70, 0.92, 1.00, 1.00,
        0.90, 0.95, 1.00, 0.97, 0.88, 0.70, 0.52, 0.42, 0.36, 0.30, 0.22, 0.16,
    ),
    "workday": (
        0.30, 0.25, 0.25, 0.25, 0.25, 0.30, 0.40, 0.60, 0.80, 0.95, 1.00, 1.00,
        0.95, 1.00, 1.00, 0.95, 0.90, 0.75, 0.60, 0.50, 0.45, 0.40, 0.35, 0.30,
    ),
    "nightly": (
        0.40, 1.00, 1.00, 1.00, 0.90, 0.60, 0.20, 0.05, 0.05, 0.05, 0.05, 0.05,
        0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.10,
    ),
}  # fmt: skip

# Latency: (time to first token ms, ms per output token, ms per input token), times a
# lognormal(0, LATENCY_SIGMA) jitter.
LATENCY_MS = {
    "low": (220.0, 4.0, 0.004),
    "balanced": (450.0, 9.0, 0.008),
    "premium": (900.0, 18.0, 0.015),
    "tool": (60.0, 0.0, 0.01),
}
LATENCY_SIGMA = 0.35
TIMEOUT_MS = {"low": 15_000.0, "balanced": 30_000.0, "premium": 60_000.0, "tool": 5_000.0}
BATCH_LATENCY_MS = (180_000.0, 0.7, 1_200_000.0)  # median, sigma, cap

# Data-quality issues of the demo's 4th gateway file (and only that one).
ISSUE_WEEK = 4
BAD_LINE_RATE = 0.0002  # split evenly over BAD_LINE_KINDS
DUPLICATE_RATE = 0.0005  # exact duplicate lines: the gateway re-emitted events
BAD_LINE_KINDS = (
    "negative_output_tokens",
    "missing_ts",
    "unknown_call_role",
    "truncated_json",
    "cached_exceeds_input",
)
UNKNOWN_CALL_ROLE = "judge"

"""One week's simulation: `n` actions of a week, and the chains of model calls they make.

Actions are drawn with their tags and start times, then every action's chain of calls
(classifier, reranker, primary, retries, fallbacks, validations, agent steps) is played out
for all actions at once, one attempt per pass. Nothing loops over rows: the passes loop over
attempts, the groups over routes. The numbers come from `scenario.py`, as arrays from `world.py`.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from pipelines.demo import scenario as sc
from pipelines.demo.world import (
    CHECKS,
    DAY_MS,
    ERR,
    ERROR,
    FALLBACK,
    FEATURE_P,
    HOUR_MS,
    HOUR_P,
    INVALID,
    IS_OPENAI,
    LATENCY,
    MODEL_CACHE_KIND,
    MODEL_INDEX,
    MODEL_SIZE,
    OK,
    OUTCOME,
    PRIMARY,
    PROJECT_P,
    PROVIDER_OF,
    RATE_LIMITED,
    REASON,
    REFUSED,
    REGIONS,
    RETRY,
    ROLE,
    ROUTES,
    TIMEOUT,
    TIMEOUTS,
    USER_TIERS,
    WORKLOAD_P,
    epoch_ms,
    route_params,
)

MAX_PASSES = 200  # attempts of the longest chain; a guard, never reached


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


# --- one week's simulation -------------------------------------------------------------------


class _Week:
    """The actions of one batch of a week, their chain state, and the calls emitted so far."""

    def __init__(self, rng: np.random.Generator, n: int, monday: date, week: int) -> None:
        self.rng, self.week, self.monday_ms = rng, week, epoch_ms(monday)
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
        # a canary week: some of the route's actions run the next policy (drawn only then, so
        # the other weeks' random streams are unchanged)
        canaries = p["canary_share"][route] > 0
        self.a["canary"] = np.zeros(n, bool)
        if canaries.any():
            self.a["canary"] = canaries & (rng.random(n) < p["canary_share"][route])
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
    canary = week.a["canary"][idx] & ~np.isnan(p["canary_low_invalid"][route]) & (tier == 0)
    chances[canary, 3] = p["canary_low_invalid"][route][canary]
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


def simulate(rng: np.random.Generator, n: int, monday: date, week: int) -> tuple[dict, dict]:
    """`n` actions of one week: their attributes and their calls."""
    sim = _Week(rng, n, monday, week)
    _opening_calls(sim)
    _play_chains(sim)
    calls = {k: np.concatenate([np.asarray(c[k]) for c in sim.calls]) for k in sim.calls[0]}
    # An agent framework reports the outcome on the action's last call.
    last = calls["seq"] == sim.seq[calls["action"]] - 1
    reports = sim.p["reports_outcome"][sim.a["route"][calls["action"]]]
    calls["outcome"] = np.where(last & reports, sim.outcome[calls["action"]], -1)
    policy = np.where(sim.a["canary"], sim.p["canary_policy"][sim.a["route"]], sim.p["policy"][sim.a["route"]])
    actions = dict(sim.a, policy=policy, team=sim.p["team"][sim.a["route"]])
    return actions, calls

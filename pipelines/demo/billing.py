"""The demo's provider bills, consistent with its logs: written after the first build, from SQL.

What each provider bills is what the demo's own priced calls cost (marts.call_costs, read
with one query below), per UTC day, provider, priced model and token class, so the bills
agree with the estimate by construction and no price is re-implemented here. Then one
discrepancy is planted, as the review should find it: two days of unlogged traffic on
Claude Sonnet, its two busiest consecutive days, 20% more billed than logged on each; and
nothing else out of tolerance. Each provider-month's estimate stays within 0.5% of its bill.

Four files, in the formats users download (pipelines/ingest/billing reads them):
- `openai_costs.json`: OpenAI Costs API page, daily buckets, `line_item` "<model>, input",
  "<model>, cached input", "<model>, output", amounts in dollars, plus web search tool calls;
- `anthropic_cost_report.json`: Anthropic Admin API cost report, amounts in cents as decimal
  strings, one result per token type, plus web search; and its usage report
  (`anthropic_usage_report.json`), the token counts that let reconciliation split a delta;
- `marketplace_focus.csv`: a cloud marketplace's FOCUS 1.3 export billing the Google, Mistral
  (and DeepSeek, when the demo calls it) traffic, token classes in `SkuPriceDetails` as the
  FOCUS 1.5 draft shows them, and a monthly tax line.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from pipelines.warehouse import Warehouse

PLANTED_MODEL = ("anthropic", "claude-sonnet-4-6")  # the logged model whose traffic went partly unlogged
PLANTED_SHARE = Decimal("0.20")  # billed on top of the logged traffic, on each of the two days
MARKETPLACE = "Aura Cloud"
DEVELOPERS = {"google": "Google", "mistral": "Mistral AI", "deepseek": "DeepSeek"}
CLASSES = ("input", "cached_input", "cache_write", "output")

# Tokens and exact cost per (day, provider, priced model, token class) of the priced calls
# a provider charged for (a response-cache hit never reached it). The billed name is the
# longest logged name of the priced model (a dated id when the logs have one). The planted
# days multiply one model's traffic by 1 + $share.
SCALED_CALLS = """
calls AS (
    SELECT *, if(provider = $provider AND model = $model AND call_date IN ($day_1, $day_2), 1 + $share, 1) AS scale
    FROM marts.call_costs
    WHERE is_priced AND NOT is_response_cache_hit
)"""

BILLED = f"""
WITH {SCALED_CALLS},
daily AS (
    SELECT call_date AS day, provider, coalesce(price_model, model) AS price_model,
        arg_max(model, length(model)) AS billed_model,
        sum(uncached_input_tokens * scale) AS input_tokens, sum(input_cost_usd * scale) AS input_usd,
        sum(cached_input_tokens * scale) AS cached_input_tokens, sum(cached_input_cost_usd * scale) AS cached_input_usd,
        sum(cache_write_tokens * scale) AS cache_write_tokens, sum(cache_write_cost_usd * scale) AS cache_write_usd,
        sum(output_tokens * scale) AS output_tokens, sum(output_cost_usd * scale) AS output_usd
    FROM calls
    GROUP BY ALL
)
UNPIVOT daily ON
    (input_tokens, input_usd) AS input,
    (cached_input_tokens, cached_input_usd) AS cached_input,
    (cache_write_tokens, cache_write_usd) AS cache_write,
    (output_tokens, output_usd) AS output
INTO NAME token_class VALUE tokens, cost_usd
ORDER BY day, provider, price_model, token_class
"""

# Anthropic's usage report: the tokens of each disjoint class per day and model, no money.
ANTHROPIC_USAGE = f"""
WITH {SCALED_CALLS}
SELECT call_date AS day, arg_max(model, length(model)) AS billed_model,
    CAST(sum(uncached_input_tokens * scale) AS BIGINT) AS uncached_input_tokens,
    CAST(sum(cached_input_tokens * scale) AS BIGINT) AS cache_read_input_tokens,
    CAST(sum((cache_write_tokens - cache_write_1h_tokens) * scale) AS BIGINT) AS ephemeral_5m_input_tokens,
    CAST(sum(cache_write_1h_tokens * scale) AS BIGINT) AS ephemeral_1h_input_tokens,
    CAST(sum(output_tokens * scale) AS BIGINT) AS output_tokens
FROM calls
WHERE provider = 'anthropic'
GROUP BY call_date, coalesce(price_model, model)
ORDER BY ALL
"""

# The two consecutive days the planted model cost most: a discrepancy the review must not miss.
PLANTED_DAYS = """
WITH days AS (
    SELECT call_date, sum(cost_usd) AS cost_usd FROM marts.call_costs
    WHERE provider = $provider AND model = $model AND is_priced GROUP BY call_date
)
SELECT first.call_date FROM days AS first JOIN days AS second ON second.call_date = first.call_date + 1
ORDER BY first.cost_usd + second.cost_usd DESC, first.call_date LIMIT 1
"""


def write_demo_bills(warehouse: Warehouse, directory: Path) -> Path:
    """The three bills under `directory`/billing, from the warehouse's last build; returns that folder."""
    with warehouse.reader() as con:
        provider, model = PLANTED_MODEL
        (day,) = con.execute(PLANTED_DAYS, {"provider": provider, "model": model}).fetchone()
        params = {"provider": provider, "model": model, "day_1": day, "day_2": day + timedelta(days=1)}
        params |= {"share": PLANTED_SHARE}
        lines = _dicts(con.execute(BILLED, params))
        usage = _dicts(con.execute(ANTHROPIC_USAGE, params))
    lines = [line for line in lines if line["tokens"] and line["cost_usd"]]
    folder = directory / "billing"
    folder.mkdir(parents=True, exist_ok=True)
    by_provider: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        by_provider[line["provider"]].append(line)
    _write_json(folder / "openai_costs.json", _openai_costs(by_provider["openai"]))
    _write_json(folder / "anthropic_cost_report.json", _anthropic_cost_report(by_provider["anthropic"]))
    _write_json(folder / "anthropic_usage_report.json", _anthropic_usage_report(usage))
    marketplace = [line for p in DEVELOPERS for line in by_provider[p]]
    _write_focus(folder / "marketplace_focus.csv", marketplace)
    return folder


# -- OpenAI Costs API --------------------------------------------------------------------------

OPENAI_PIECES = {"input": "input", "cached_input": "cached input", "cache_write": "input", "output": "output"}


def _openai_costs(lines: list[dict]) -> dict:
    """One page of daily buckets; cache writes (billed at the input rate) join the input line."""
    buckets: dict[date, dict[tuple[str, str], list]] = defaultdict(dict)
    for line in lines:
        key = (line["billed_model"], OPENAI_PIECES[line["token_class"]])
        tokens, cost = buckets[line["day"]].get(key, (0, Decimal(0)))
        buckets[line["day"]][key] = (tokens + int(line["tokens"]), cost + line["cost_usd"])
    data = []
    for day, results in sorted(buckets.items()):
        start = _epoch(day)
        items = [
            {
                "object": "organization.costs.result",
                "amount": {"value": _Number(cost, 12), "currency": "usd"},
                "line_item": f"{model}, {piece}",
                "project_id": "proj_demo",
                "quantity": tokens,
                "quantity_unit": "tokens",
            }
            for (model, piece), (tokens, cost) in sorted(results.items())
        ]
        if day.weekday() == 0:  # the web search tool, billed per call: another charge, not a model's
            items.append(
                {
                    "object": "organization.costs.result",
                    "amount": {"value": _Number(Decimal("2.50"), 2), "currency": "usd"},
                    "line_item": "web search tool calls",
                    "project_id": "proj_demo",
                    "quantity": None,
                    "quantity_unit": None,
                }
            )
        data.append({"object": "bucket", "start_time": start, "end_time": start + 86_400, "results": items})
    return {"object": "page", "data": data, "has_more": False, "next_page": None}


# -- Anthropic cost report ---------------------------------------------------------------------

ANTHROPIC_TOKEN_TYPES = {
    "input": "uncached_input_tokens",
    "cached_input": "cache_read_input_tokens",
    "cache_write": "cache_creation.ephemeral_5m_input_tokens",
    "output": "output_tokens",
}


def _anthropic_cost_report(lines: list[dict]) -> dict:
    """Daily buckets; `amount` in cents as a decimal string, as the Admin API writes it."""
    buckets: dict[date, list[dict]] = defaultdict(list)
    for line in lines:
        token_type = ANTHROPIC_TOKEN_TYPES[line["token_class"]]
        buckets[line["day"]].append(
            {
                "amount": _decimal_text(line["cost_usd"] * 100, 10),
                "context_window": "0-200k",
                "cost_type": "tokens",
                "currency": "USD",
                "description": f"{line['billed_model']} Usage - {token_type}",
                "inference_geo": "global",
                "model": line["billed_model"],
                "service_tier": "standard",
                "token_type": token_type,
                "workspace_id": "wrkspc_demo",
            }
        )
    data = []
    for day, results in sorted(buckets.items()):
        if day.weekday() == 0:
            results.append(
                {
                    "amount": "1234",
                    "context_window": None,
                    "cost_type": "web_search",
                    "currency": "USD",
                    "description": "Web Search Usage",
                    "inference_geo": None,
                    "model": None,
                    "service_tier": None,
                    "token_type": None,
                    "workspace_id": "wrkspc_demo",
                }
            )
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        data.append({"starting_at": _iso(start), "ending_at": _iso(start + timedelta(days=1)), "results": results})
    return {"data": data, "has_more": False, "next_page": None}


def _anthropic_usage_report(rows: list[dict]) -> dict:
    """Daily buckets of token counts per model: the quantities behind the cost report."""
    buckets: dict[date, list[dict]] = defaultdict(list)
    for row in rows:
        buckets[row["day"]].append(
            {
                "uncached_input_tokens": row["uncached_input_tokens"],
                "cache_read_input_tokens": row["cache_read_input_tokens"],
                "cache_creation": {
                    "ephemeral_5m_input_tokens": row["ephemeral_5m_input_tokens"],
                    "ephemeral_1h_input_tokens": row["ephemeral_1h_input_tokens"],
                },
                "output_tokens": row["output_tokens"],
                "server_tool_use": {"web_search_requests": 0},
                "model": row["billed_model"],
                "service_tier": "standard",
                "context_window": "0-200k",
                "inference_geo": "global",
                "workspace_id": "wrkspc_demo",
                "api_key_id": None,
            }
        )
    data = []
    for day, results in sorted(buckets.items()):
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        data.append({"starting_at": _iso(start), "ending_at": _iso(start + timedelta(days=1)), "results": results})
    return {"data": data, "has_more": False, "next_page": None}


# -- a cloud marketplace's FOCUS export --------------------------------------------------------

FOCUS_METERS = {
    "input": ("Input Tokens", "Input", "Uncached"),
    "cached_input": ("Cache Read Input Tokens", "Input", "Read"),
    "cache_write": ("Cache Write Input Tokens", "Input", "Write"),
    "output": ("Output Tokens", "Output", None),
}
FOCUS_HEADER = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName",
    "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ConsumedQuantity", "ConsumedUnit",
    "PricingQuantity", "PricingUnit", "ServiceProviderName", "HostProviderName", "InvoiceIssuerName",
    "ServiceName", "ServiceCategory", "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "Tags",
)  # fmt: skip


def _write_focus(path: Path, lines: list[dict]) -> None:
    rows = []
    months: dict[date, Decimal] = defaultdict(Decimal)
    for line in lines:
        meter, direction, cache_action = FOCUS_METERS[line["token_class"]]
        developer = DEVELOPERS[line["provider"]]
        details = {"ModelDeveloper": developer, "ModelId": line["billed_model"], "TokenDirection": direction}
        if cache_action:
            details["TokenCacheAction"] = cache_action
        day = line["day"]
        cost = _decimal_text(line["cost_usd"], 10)
        tokens = int(line["tokens"])
        month = day.replace(day=1)
        months[month] += line["cost_usd"]
        rows.append(
            [cost, cost, cost, cost, "aura-billing-001", "Demo Inc.", "USD", *_month(month), *_day(day), "Usage",
             "", f"{line['billed_model']} {meter.lower()}", "Usage-Based", tokens, "Tokens",
             _decimal_text(Decimal(tokens) / 1_000_000, 6), "1000000 Tokens", developer, MARKETPLACE, MARKETPLACE,
             f"{MARKETPLACE} Model Garden", "AI and Machine Learning", "Generative AI",
             f"{line['billed_model']}-{line['token_class']}", meter, json.dumps(details), '{"env": "demo"}']
        )  # fmt: skip
    for month, spend in sorted(months.items()):  # sales tax on the marketplace's invoice: another charge
        tax = _decimal_text(spend * Decimal("0.08"), 2)
        rows.append(
            [tax, tax, tax, tax, "aura-billing-001", "Demo Inc.", "USD", *_month(month), *_month(month), "Tax", "",
             "Sales tax", "One-Time", "", "", "", "", MARKETPLACE, MARKETPLACE, MARKETPLACE, f"{MARKETPLACE} Tax",
             "Other", "", "", "", "", ""]
        )  # fmt: skip
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FOCUS_HEADER)
        writer.writerows(rows)


# -- formatting --------------------------------------------------------------------------------


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class _Number:
    """A decimal written into JSON as a number, exactly as its text (json cannot write Decimal)."""

    def __init__(self, value: Decimal, places: int) -> None:
        self.text = _decimal_text(value, places)


def _write_json(path: Path, payload: dict) -> None:
    marks: dict[str, str] = {}

    def number(value: object) -> str:
        if isinstance(value, _Number):
            mark = f"\x00{len(marks)}\x00"
            marks[mark] = value.text
            return mark
        raise TypeError(f"cannot write {type(value).__name__} to JSON")

    text = json.dumps(payload, indent=1, default=number)
    for mark, value in marks.items():
        text = text.replace(json.dumps(mark), value)
    path.write_text(text + "\n")


def _decimal_text(value: Decimal, places: int) -> str:
    text = f"{value.quantize(Decimal(1).scaleb(-places)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(day: date) -> tuple[str, str]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return _iso(start), _iso(start + timedelta(days=1))


def _month(month: date) -> tuple[str, str]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    following = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return _iso(start), _iso(following)

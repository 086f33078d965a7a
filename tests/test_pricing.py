"""The price catalog: validation, merging with genai-prices, and costs equal to genai-prices' own."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from pipelines.errors import UserError
from pipelines.prices import build_price_book, load_catalog, resolve_models
from tests.conftest import ACME_CATALOG, call, write_jsonl

# (provider, model as logged, UTC timestamp, tokens): published prices with cache reads,
# 5-minute and 1-hour cache writes, a long-context cliff, dated price changes and
# dated model ids.
CASES = [
    ("openai", "gpt-4.1", "2026-10-01T10:00:00Z",
     dict(input_tokens=12_000, cached_input_tokens=8_000, output_tokens=700)),
    ("openai", "gpt-4.1-2025-04-14", "2026-10-01T10:00:00Z", dict(input_tokens=1_000, output_tokens=50)),
    ("anthropic", "claude-opus-4-7", "2026-10-01T10:00:00Z",
     dict(input_tokens=30_000, cached_input_tokens=20_000, cache_write_tokens=6_000, cache_write_1h_tokens=1_000,
          output_tokens=900, reasoning_tokens=300)),
    ("anthropic", "claude-sonnet-4-6", "2026-03-01T10:00:00Z", dict(input_tokens=250_000, output_tokens=2_000)),
    ("anthropic", "claude-sonnet-4-6", "2026-03-20T10:00:00Z", dict(input_tokens=250_000, output_tokens=2_000)),
    ("google", "gemini-2.5-pro", "2026-10-01T10:00:00Z", dict(input_tokens=250_000, cached_input_tokens=50_000,
                                                             output_tokens=3_000)),
    ("google", "gemini-2.5-pro", "2026-10-01T10:00:00Z", dict(input_tokens=150_000, output_tokens=3_000)),
    ("mistral", "mistral-medium-latest", "2026-06-15T10:00:00Z", dict(input_tokens=5_000, output_tokens=500)),
    ("mistral", "mistral-medium-latest", "2026-06-16T10:00:00Z", dict(input_tokens=5_000, output_tokens=500)),
    # published time-of-day windows (UTC, every day): inside, outside, and a window that
    # wins over the dated prices of its period
    ("deepseek", "deepseek-chat", "2026-06-01T10:00:00Z", dict(input_tokens=5_000, cached_input_tokens=1_000,
                                                               output_tokens=500)),
    ("deepseek", "deepseek-chat", "2026-06-01T16:30:00Z", dict(input_tokens=5_000, output_tokens=500)),
    ("deepseek", "deepseek-v4-flash", "2026-09-15T02:00:00Z", dict(input_tokens=5_000, output_tokens=500)),
    ("deepseek", "deepseek-v4-flash", "2026-09-15T12:00:00Z", dict(input_tokens=5_000, output_tokens=500)),
]  # fmt: skip


def genai_prices_total(provider: str, model: str, ts: str, tokens: dict) -> Decimal:
    usage = Usage(
        input_tokens=tokens["input_tokens"],
        cache_read_tokens=tokens.get("cached_input_tokens", 0),
        cache_write_tokens=tokens.get("cache_write_tokens", 0),
        cache_write_1h_tokens=tokens.get("cache_write_1h_tokens", 0),
        output_tokens=tokens["output_tokens"],
    )
    when = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)
    return calc_price(usage, model, provider_id=provider, genai_request_timestamp=when).total_price


def test_costs_match_genai_prices(tmp_path, warehouse, prices_yaml):
    rows = [
        call(f"c{i}", f"a{i}", ts, provider=provider, model=model, **tokens)
        for i, (provider, model, ts, tokens) in enumerate(CASES)
    ]
    con = warehouse([write_jsonl(tmp_path / "calls.jsonl", rows)], prices_yaml("models: []\n"))
    ours = dict(con.execute("SELECT call_id, cost_usd FROM marts.call_costs").fetchall())
    for i, case in enumerate(CASES):
        expected = genai_prices_total(*case)  # exact, to the last decimal
        assert ours[f"c{i}"] == expected, case


def test_catalog_wins_and_aliases(tmp_path, warehouse, prices_yaml):
    catalog = prices_yaml(
        """
models:
  - provider: openai
    model: gpt-4.1
    aliases: [our-gpt]
    tier: premium
    prices:
      - {effective_from: 2026-01-01, input: 1.5, output: 6}
  - {provider: openai, model: gpt-4.1-mini, tier: balanced}
"""
    )
    rows = [
        call("c1", "a1", "2026-10-01T10:00:00Z", provider="openai", model="gpt-4.1"),
        call("c2", "a2", "2026-10-01T10:00:00Z", provider="openai", model="our-gpt"),
        call("c3", "a3", "2026-10-01T10:00:00Z", provider="openai", model="gpt-4.1-mini"),
    ]
    con = warehouse([write_jsonl(tmp_path / "calls.jsonl", rows)], catalog)
    got = con.execute("SELECT call_id, cost_usd, model_tier, price_source FROM marts.call_costs ORDER BY 1").fetchall()
    # the negotiated price: 1000 x 1.5 + 100 x 6 = 0.0021; the alias means the same model
    assert got[0][:3] == ("c1", Decimal("0.0021"), "premium") and got[0][3].startswith("catalog ")
    assert got[1][:3] == ("c2", Decimal("0.0021"), "premium")
    # a tier-only entry keeps the published price (genai-prices' own figure) and adds the tier
    published = genai_prices_total(
        "openai", "gpt-4.1-mini", "2026-10-01T10:00:00Z", dict(input_tokens=1000, output_tokens=100)
    )
    assert got[2][:3] == ("c3", published, "balanced") and got[2][3].startswith("genai-prices ")


def test_catalog_errors_name_the_file_the_entry_and_the_field(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "models:\n  - provider: acme\n    model: m-small\n    prices:\n"
        "      - {effective_from: 2026-01-01, input: -1, output: 4}\n"
    )
    with pytest.raises(
        UserError, match=r"catalog.yaml: models\[0\] \(acme/m-small\): prices.0.input: .*greater than or equal to 0"
    ):
        load_catalog(path)
    path.write_text("models:\n  - {provider: acme, model: m, tier: gold}\n")
    with pytest.raises(
        UserError, match=r"models\[0\] \(acme/m\): tier: Input should be 'low', 'balanced' or 'premium'"
    ):
        load_catalog(path)
    path.write_text(
        "models:\n  - {provider: acme, model: m, prices: [{effective_from: 2026-01-01, input: 1, outptu: 2}]}\n"
    )
    with pytest.raises(UserError, match="outptu"):
        load_catalog(path)
    path.write_text("models:\n  - {provider: acme, model: m}\n  - {provider: acme, model: n, aliases: [m]}\n")
    with pytest.raises(UserError, match="acme/m is listed twice"):
        load_catalog(path)
    path.write_text(
        "models:\n  - {provider: acme, model: m, "
        "prices: [{effective_from: 2026-01-01, input: 0.0000000001, output: 1}]}\n"
    )
    with pytest.raises(UserError, match="decimal places"):
        load_catalog(path)


def test_prices_are_exact_decimals_and_defaults_follow_the_contract(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(ACME_CATALOG)
    book = build_price_book(path)
    small = book.models[("acme", "m-small")].rows[0]
    assert (small.input, small.cached_input, small.cache_write, small.cache_write_1h, small.output) == (
        Decimal("1.00"), Decimal("0.10"), Decimal("1.25"), Decimal("2.00"), Decimal("4.00"),
    )  # fmt: skip
    large = book.models[("acme", "m-large")].rows
    # missing cached_input and cache_write cost the input price; 1h writes the cache-write price
    assert [(r.effective_from.isoformat(), r.cached_input, r.cache_write, r.cache_write_1h) for r in large] == [
        ("2026-01-01T00:00:00+00:00", Decimal("10.00"), Decimal("10.00"), Decimal("10.00")),
        ("2026-03-04T00:00:00+00:00", Decimal("5.00"), Decimal("5.00"), Decimal("5.00")),
    ]
    assert large[1].long_context_cached_input == Decimal("10.00")  # the long-context input price
    assert large[0].batch_multiplier == 1


def test_resolution_of_logged_models(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(ACME_CATALOG)
    book = build_price_book(path)
    got = {
        (r.provider, r.model): (r.price_provider, r.price_model, r.matched_by)
        for r in resolve_models(
            book,
            [("acme", "m-small"), ("acme", "M-Small-2026-01-01"), ("anthropic", "claude-haiku-4-5-20251001"),
             ("openai", "no-such-model")],
        )
    }  # fmt: skip
    assert got == {
        ("acme", "m-small"): ("acme", "m-small", "catalog"),
        ("acme", "M-Small-2026-01-01"): ("acme", "m-small", "catalog alias"),
        ("anthropic", "claude-haiku-4-5-20251001"): ("anthropic", "claude-haiku-4-5", "genai-prices"),
        ("openai", "no-such-model"): (None, None, "unpriced"),
    }


def test_a_service_tier_without_a_price_in_its_period_pays_the_default_rates(tmp_path, warehouse, prices_yaml):
    catalog = prices_yaml(
        """
models:
  - provider: acme
    model: m
    prices:
      - effective_from: 2026-01-01
        input: 1.00
        output: 4.00
        service_tiers: {priority: {input: 2.00, output: 8.00}}
      - effective_from: 2026-03-01
        input: 0.50
        output: 2.00
"""
    )
    rows = [
        call("c1", "a1", "2026-02-10T10:00:00Z", model="m", service_tier="priority"),
        call("c2", "a2", "2026-03-10T10:00:00Z", model="m", service_tier="priority"),
        call("c3", "a3", "2026-03-10T10:00:00Z", model="m", service_tier="flex"),
    ]
    con = warehouse([write_jsonl(tmp_path / "calls.jsonl", rows)], catalog)
    costs = dict(con.execute("SELECT call_id, cost_usd FROM marts.call_costs").fetchall())
    # c1: priority in the first period: 1000 x 2 + 100 x 8 = 0.0028
    # c2: the second period has no priority price: its default rates, 1000 x 0.5 + 100 x 2 = 0.0007
    # c3: flex is priced nowhere: the default rates too
    assert costs == {"c1": Decimal("0.0028"), "c2": Decimal("0.0007"), "c3": Decimal("0.0007")}


def test_published_prices_are_remembered_until_genai_prices_changes(tmp_path, monkeypatch):
    from pipelines.prices import published

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    converted: list[int] = []
    convert = published._published_models
    monkeypatch.setattr(published, "_published_models", lambda: converted.append(1) or convert())
    stored = tmp_path / "cache" / "routeledger" / published.PUBLISHED_CACHE

    def fresh() -> tuple:
        published.published_models.cache_clear()
        return published.published_models()

    try:
        first = fresh()
        assert stored.exists() and converted == [1]
        assert fresh() == first and converted == [1]  # from the cache
        stored.write_bytes(b"not a pickle")  # damaged: converted again, and stored again
        assert fresh() == first and converted == [1, 1]
        monkeypatch.setattr(published, "published_source", lambda: "genai-prices 0.0.1")  # another version
        again = fresh()
        assert converted == [1, 1, 1] and {m.source for m in again} == {"genai-prices 0.0.1"}
        gpt = next(m for m in first if m.provider == "openai" and m.model == "gpt-4o")
        assert gpt.rows[0].input == Decimal("2.5")  # USD per million input tokens
    finally:
        published.published_models.cache_clear()

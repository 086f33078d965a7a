"""`routeledger whatif`: the week's real calls re-priced by the build's own models, on a
tiny fixture with hand-computed costs.

ACME_CATALOG from 2026-03-04 (USD per 1M tokens): m-small 1.00 input / 4.00 output, m-large
5.00 / 20.00. Every call has 1000 input and 100 output tokens: 0.0014 on m-small, 0.007 on
m-large. Week of 2026-03-09: support_faq's a1 is one m-small call (0.0014); a2 errs on
m-small (0.0014) and falls back to m-large (0.007): 0.0098 over 2 completed, 0.0049 each.
rag's b1 is a tool call and a primary call on m-small: 0.0028. An action of the week
before (x1) is not re-priced.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipelines.build import run_build
from pipelines.errors import UserError
from pipelines.ingest.logs import run_ingest_logs
from pipelines.prices import build_price_book
from pipelines.whatif import Remap, built_catalog, parse_remap, run_whatif
from tests.conftest import ACME_CATALOG, call, run_cli, write_jsonl

WEEK = date(2026, 3, 9)
CALLS = [
    call("c1", "a1", "2026-03-10T10:00:00Z"),
    call("c2", "a2", "2026-03-10T10:00:00Z", status="error"),
    call("c3", "a2", "2026-03-10T10:00:01Z", call_role="fallback", model="m-large"),
    call("c4", "b1", "2026-03-10T10:00:00Z", route="rag", call_role="tool"),
    call("c5", "b1", "2026-03-10T10:00:01Z", route="rag"),
    call("x1", "x1", "2026-03-06T10:00:00Z"),
]
DOUBLED = ACME_CATALOG.replace("input: 1.00\n", "input: 2.00\n").replace("output: 4.00\n", "output: 8.00\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The fixture's warehouse, built once: whatif only reads it."""
    directory = tmp_path_factory.mktemp("whatif")
    db = directory / "warehouse.duckdb"
    catalog = directory / "catalog.yaml"
    catalog.write_text(ACME_CATALOG)
    run_ingest_logs(db, [str(write_jsonl(directory / "calls.jsonl", CALLS))])
    run_build(db, catalog)
    return db


def by_route(rows) -> dict[str, tuple]:
    return {r.route: (r.actual_cost_usd, r.whatif_cost_usd, r.whatif_cost_per_completed_action_usd) for r in rows}


def test_the_same_catalog_and_no_remap_changes_nothing(built, prices_yaml):
    rows = run_whatif(built, WEEK, build_price_book(prices_yaml(ACME_CATALOG)), [])
    assert by_route(rows) == {
        "rag": (Decimal("0.0028"), Decimal("0.0028"), Decimal("0.0028")),
        "support_faq": (Decimal("0.0098"), Decimal("0.0098"), Decimal("0.0049")),
    }


def test_a_remap_moves_a_routes_answering_calls_to_another_model_tokens_kept(built, prices_yaml):
    book = build_price_book(prices_yaml(ACME_CATALOG))
    rows = run_whatif(built, WEEK, book, [Remap("support_faq", "acme", "m-large"), Remap("rag", "acme", "m-large")])
    assert by_route(rows) == {
        "rag": (Decimal("0.0028"), Decimal("0.0084"), Decimal("0.0084")),  # the tool call stays: 0.0014 + 0.007
        "support_faq": (Decimal("0.0098"), Decimal("0.021"), Decimal("0.0105")),  # 3 x 0.007, / 2 completed
    }


def test_another_catalog_reprices_the_same_calls(built, prices_yaml):
    rows = run_whatif(built, WEEK, build_price_book(prices_yaml(DOUBLED)), [])
    assert by_route(rows) == {
        "rag": (Decimal("0.0028"), Decimal("0.0056"), Decimal("0.0056")),
        "support_faq": (Decimal("0.0098"), Decimal("0.0126"), Decimal("0.0063")),  # 0.0028 + 0.0028 + 0.007
    }


def test_the_command_says_what_is_not_simulated(built, prices_yaml):
    result = run_cli(
        "whatif", "--db", str(built), "--week", "2026-W11", "--prices", str(prices_yaml(DOUBLED)), "--format", "csv"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "rag,0.002800000000000000000,0.005600000000000000000,0.002800000000000000000,0.002800000,0.005600000,0",
        "support_faq,0.009800000000000000000,0.012600000000000000000,0.002800000000000000000,0.004900000,0.006300000,0",
        "(total),0.012600000000000000000,0.018200000000000000000,0.005600000000000000000,,,0",
    ]
    assert "not simulated" in result.stderr


def test_without_prices_whatif_uses_the_catalog_the_last_build_used(built):
    """Here run from the project folder, whose pricing/catalog.yaml prices no acme model: the
    build's own catalog (ACME_CATALOG, recorded in raw.build_catalog) re-prices at the actual."""
    assert built_catalog(built) == (built.parent / "catalog.yaml").resolve()
    result = run_cli("whatif", "--db", str(built), "--week", "2026-W11", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "rag,0.002800000000000000000,0.002800000000000000000,0E-21,0.002800000,0.002800000,0",
        "support_faq,0.009800000000000000000,0.009800000000000000000,0E-21,0.004900000,0.004900000,0",
        "(total),0.012600000000000000000,0.012600000000000000000,0E-21,,,0",
    ]


def test_a_recorded_catalog_that_is_gone_or_no_warehouse_means_the_default(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(ACME_CATALOG)
    run_ingest_logs(db, [str(write_jsonl(tmp_path / "calls.jsonl", CALLS[:1]))])
    run_build(db, catalog)
    assert built_catalog(db) == catalog.resolve()
    catalog.unlink()
    assert built_catalog(db) is None
    assert built_catalog(tmp_path / "missing.duckdb") is None


@pytest.mark.parametrize("text", ["support_faq", "support_faq=m-large", "=acme/m", "faq=acme/"])
def test_a_remap_reads_route_equals_provider_slash_model(text):
    with pytest.raises(UserError, match="ROUTE=PROVIDER/MODEL"):
        parse_remap(text)


def test_an_unknown_route_or_an_empty_week_is_refused(built, prices_yaml):
    book = build_price_book(prices_yaml(ACME_CATALOG))
    with pytest.raises(UserError, match="no route codegen in the week of 2026-03-09"):
        run_whatif(built, WEEK, book, [Remap("codegen", "acme", "m-large")])
    with pytest.raises(UserError, match="no actions in the week of 2026-04-06"):
        run_whatif(built, date(2026, 4, 6), book, [])

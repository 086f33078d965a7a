"""`routeledger check`: a week's violations, regressions and budget breaches; exit 1 on a breach."""

from __future__ import annotations

import json
from datetime import date

import pytest

from pipelines.check import parse_week
from pipelines.errors import UserError
from tests.conftest import ACME_CATALOG, call, run_cli, write_jsonl

# support_faq may fall back in at most a quarter of its actions. Week of 2026-03-02: 2
# actions, 1 falls back to m-large: 0.5, a breach. Week of 2026-03-09: 2 plain actions.
# The cost per completed action went from (0.0014 + 0.0014 + 0.014) / 2 = 0.0084 down to
# 0.0014: no regression either week. Daily cap 1 USD, never reached.
POLICY = """
routes:
  - route: support_faq
    max_fallback_rate: 0.25
    max_premium_share: 0.9
    warn_only: [max_premium_share]
budgets:
  daily: {total: 1}
"""
CALLS = [
    call("c1", "a1", "2026-03-03T10:00:00Z"),
    call("c2", "a2", "2026-03-03T10:00:00Z", status="error"),
    call("c3", "a2", "2026-03-03T10:00:01Z", call_role="fallback", model="m-large"),
    call("c4", "b1", "2026-03-10T10:00:00Z"),
    call("c5", "b2", "2026-03-10T10:00:00Z"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    directory = tmp_path_factory.mktemp("check")
    db = directory / "warehouse.duckdb"
    catalog = directory / "catalog.yaml"
    catalog.write_text(ACME_CATALOG)
    (directory / "policy.yaml").write_text(POLICY)
    run_cli("ingest", "logs", str(write_jsonl(directory / "calls.jsonl", CALLS)), "--db", str(db), check=True)
    run_cli("build", "--db", str(db), "--prices", str(catalog), check=True)
    return db


@pytest.mark.parametrize(
    ("text", "monday"),
    [("2026-W10", date(2026, 3, 2)), ("2026-03-08", date(2026, 3, 2)), ("2026-03-02", date(2026, 3, 2))],
)
def test_a_week_is_an_iso_week_or_a_date_in_it(text, monday):
    assert parse_week(text) == monday


@pytest.mark.parametrize("text", ["2026-W54", "last week", "2026-13-01"])
def test_a_wrong_week_is_refused(text):
    with pytest.raises(UserError, match="--week"):
        parse_week(text)


def test_a_breaching_week_exits_1_and_says_why(built):
    result = run_cli("check", "--db", str(built), "--week", "2026-W10", "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["week"] == "2026-03-02"
    assert (report["breaches"], report["warnings"]) == (1, 0)
    (finding,) = report["findings"]
    assert (finding["kind"], finding["scope"], finding["rule"], finding["severity"]) == (
        "policy",
        "support_faq",
        "max_fallback_rate",
        "breach",
    )
    assert (finding["limit"], finding["actual"]) == ("0.250000000", "0.500000000")


def test_a_clean_week_exits_0(built):
    result = run_cli("check", "--db", str(built), "--week", "2026-03-11")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2026-W11 (week of 2026-03-09): 0 finding(s)" in result.stdout


def test_a_bad_week_or_format_exits_2(built):
    assert run_cli("check", "--db", str(built), "--week", "soon").returncode == 2
    result = run_cli("check", "--db", str(built), "--format", "xml")
    assert result.returncode == 2
    assert "--format 'xml': expected table or json" in result.stderr

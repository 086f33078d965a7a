"""pricing/policy.yaml: validated with errors that name the entry and field, loaded by the
build beside the catalog, and read by marts.policy_violations and marts.budget_status."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.errors import UserError
from pipelines.policy import Policy, load_policy, policy_tables
from tests.conftest import ACME_CATALOG, call, rows, run_cli, write_jsonl

POLICY = """
version: v1
routes:
  - route: support_faq
    lifecycle: managed
    allowed_tiers: [low]
    max_fallback_rate: 0.25
    max_cost_per_completed_action_usd: 0.01
    warn_only: [allowed_tiers]
  - route: legacy
    lifecycle: deprecated
budgets:
  daily: {total: 0.01, tiers: {premium: 1}}
  monthly_usd: 100
"""


def write_policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def test_a_policy_becomes_rows_of_limits_lists_and_routes(tmp_path):
    tables = policy_tables(load_policy(write_policy(tmp_path, POLICY)))
    limits = {
        (r["scope"], r["rule"]): (r["limit_value"], r["severity"]) for r in tables["raw.policy_limits"].to_pylist()
    }
    assert limits == {
        ("support_faq", "allowed_tiers"): (Decimal(0), "warning"),
        ("support_faq", "max_fallback_rate"): (Decimal("0.25"), "breach"),
        ("support_faq", "max_cost_per_completed_action_usd"): (Decimal("0.01"), "breach"),
        ("total", "daily_cap_usd"): (Decimal("0.01"), "breach"),
        ("premium", "daily_cap_usd"): (Decimal(1), "breach"),
        ("total", "monthly_budget_usd"): (Decimal(100), "breach"),
        ("total", "regression_threshold"): (Decimal("0.25"), "warning"),  # the default
    }
    assert tables["raw.policy_lists"].to_pylist() == [{"route": "support_faq", "rule": "allowed_tiers", "value": "low"}]
    assert [(r["route"], r["lifecycle"]) for r in tables["raw.policy_routes"].to_pylist()] == [
        ("support_faq", "managed"),
        ("legacy", "deprecated"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "routes:\n  - {route: rag, max_fallback_rat: 0.1}",
            "routes[0] (rag): max_fallback_rat: Extra inputs are not permitted",
        ),
        (
            "routes:\n  - {route: rag}\n  - {route: faq, max_retry_rate: 1.5}",
            "routes[1] (faq): max_retry_rate: Input should be less than or equal to 1",
        ),
        (
            "routes:\n  - {route: rag, allowed_tiers: [gold]}",
            "routes[0] (rag): allowed_tiers.0: Input should be 'low', 'balanced' or 'premium'",
        ),
        (
            "routes:\n  - {route: rag, lifecycle: retired}",
            "routes[0] (rag): lifecycle: Input should be 'experimental', 'managed' or 'deprecated'",
        ),
        (
            "routes:\n  - {route: rag, warn_only: [max_speed]}",
            "routes[0] (rag): warn_only: Value error, unknown rule 'max_speed'",
        ),
        ("routes:\n  - {route: rag}\n  - {route: rag}", "route 'rag' has two entries"),
        ("budgets: {daily: {tiers: {premium: -5}}}", "budgets.daily.tiers.premium: Input should be greater than 0"),
        ("budget: {monthly_usd: 5}", "budget: Extra inputs are not permitted"),
        ("routes: [", "not valid YAML at line 1"),
    ],
)
def test_a_wrong_policy_is_refused_naming_the_entry_and_field(tmp_path, text, message):
    with pytest.raises(UserError) as caught:
        load_policy(write_policy(tmp_path, text))
    assert message in str(caught.value)
    assert str(tmp_path / "policy.yaml") in str(caught.value)


def test_a_limit_with_more_than_9_decimals_is_refused():
    with pytest.raises(UserError, match="support_faq: max_fallback_rate: at most 9 decimal places"):
        policy_tables(
            Policy.model_validate({"routes": [{"route": "support_faq", "max_fallback_rate": "0.0000000001"}]})
        )


def test_no_policy_file_means_no_rules():
    tables = policy_tables(load_policy(None))
    assert [r["rule"] for r in tables["raw.policy_limits"].to_pylist()] == ["regression_threshold"]


# End to end: the build reads the policy.yaml beside the catalog (ACME_CATALOG: m-small
# low, 1.00 input / 4.00 output per 1M; m-large premium, 10.00 / 40.00).
# support_faq, week of 2026-03-02: a1 is one m-small call (1000 in, 100 out: 0.0014);
# a2 falls back to m-large (0.0014 + 0.014); a3 and a4 one m-small call each. 4 actions,
# 1 with a fallback: 0.25, at the limit, fine. Cost 4 x 0.0014 + 0.014 = 0.0196 over 4
# completed: 0.0049, under 0.01. The m-large call is off the tier list: a warning. legacy
# is deprecated and has 1 action (0.0014): a breach. All on 2026-03-03: 0.021 > 0.01 a day
# in total; premium 0.014 under 1. March so far (the 1st to the 3rd): 0.021 x 31 / 3 = 0.217.
CALLS = [
    call("c1", "a1", "2026-03-03T10:00:00Z"),
    call("c2", "a2", "2026-03-03T10:00:00Z", status="error"),
    call("c3", "a2", "2026-03-03T10:00:01Z", call_role="fallback", model="m-large"),
    call("c4", "a3", "2026-03-03T10:00:00Z"),
    call("c5", "a4", "2026-03-03T10:00:00Z"),
    call("c6", "a5", "2026-03-03T10:00:00Z", route="legacy"),
]


def test_the_build_loads_the_policy_beside_the_catalog(tmp_path, db, prices_yaml, warehouse):
    catalog = prices_yaml(ACME_CATALOG)
    write_policy(catalog.parent, POLICY)
    con = warehouse([write_jsonl(tmp_path / "calls.jsonl", CALLS)], catalog)
    violations = con.execute(
        "SELECT scope, rule, limit_value, actual_value, offending, severity FROM marts.policy_violations ORDER BY scope"
    ).fetchall()
    assert violations == [
        ("legacy", "lifecycle", Decimal(0), Decimal(1), 1, "breach"),
        ("support_faq", "allowed_tiers", Decimal(0), Decimal(1), 1, "warning"),
    ]
    budgets = con.execute(
        "SELECT period_kind, scope, spent_usd, cap_usd, projected_usd, is_breached "
        "FROM marts.budget_status ORDER BY ALL"
    ).fetchall()
    assert budgets == [
        ("day", "premium", Decimal("0.014"), Decimal(1), None, False),
        ("day", "total", Decimal("0.021"), Decimal("0.01"), None, True),
        ("month", "total", Decimal("0.021"), Decimal(100), Decimal("0.217"), False),
    ]


def test_build_refuses_a_broken_policy_before_building(tmp_path, db, prices_yaml):
    catalog = prices_yaml(ACME_CATALOG)
    policy = (
        write_policy(tmp_path / "elsewhere", "routes: [{route: rag, max_fallback_rate: 2}]")
        if ((tmp_path / "elsewhere").mkdir() or True)
        else None
    )
    result = run_cli("build", "--db", str(db), "--prices", str(catalog), "--policy", str(policy))
    assert result.returncode == 2
    assert "routes[0] (rag): max_fallback_rate: Input should be less than or equal to 1" in result.stderr
    assert not db.exists() or rows(db, "SELECT count(*) FROM raw.calls") == [(0,)]

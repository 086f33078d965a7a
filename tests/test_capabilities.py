"""The capability registry (issue 13 §3b): the catalog states what a model can do, a
route's policy `requires:` it, and the build loads both for marts.policy_violations."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.errors import UserError
from pipelines.policy import load_policy, policy_tables
from pipelines.prices.catalog import load_catalog
from tests.conftest import ACME_CATALOG, call, write_jsonl

# m-small states tool calling false, a 32000-token window and region us; m-large states
# nothing on structured output and runs in eu and us.
CAPABLE_CATALOG = ACME_CATALOG.replace(
    "    tier: low\n",
    "    tier: low\n    capabilities: {context_window: 32000, tool_calling: false, regions: [US]}\n",
).replace(
    "    tier: premium\n",
    "    tier: premium\n    capabilities: {context_window: 200000, tool_calling: true, regions: [us, eu]}\n",
)

POLICY = """
routes:
  - route: support_faq
    requires: {tool_calling: true, structured_output: true, min_context_window: 100000, regions: [EU]}
    warn_only: [requires_context_window]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_catalog_states_capabilities(tmp_path):
    catalog, _ = load_catalog(write(tmp_path, "catalog.yaml", CAPABLE_CATALOG))
    small, large = catalog.models
    assert small.capabilities is not None and large.capabilities is not None
    assert (small.capabilities.tool_calling, small.capabilities.structured_output) == (False, None)
    assert small.capabilities.regions == ["us"]  # lower-cased
    assert large.capabilities.regions == ["eu", "us"]  # sorted


@pytest.mark.parametrize(
    ("capabilities", "message"),
    [
        ("{tool_calls: true}", "models[0] (acme/m-small): capabilities.tool_calls: Extra inputs are not permitted"),
        ("{tool_calling: 'yes'}", "models[0] (acme/m-small): capabilities.tool_calling: Value error, write true or"),
        ("{context_window: 0}", "capabilities.context_window: Input should be greater than 0"),
        ("{regions: []}", "capabilities.regions: Value error, names no region"),
    ],
)
def test_wrong_capabilities_are_refused_naming_the_entry_and_field(tmp_path, capabilities, message):
    text = ACME_CATALOG.replace("    tier: low\n", f"    tier: low\n    capabilities: {capabilities}\n")
    with pytest.raises(UserError) as caught:
        load_catalog(write(tmp_path, "catalog.yaml", text))
    assert message in str(caught.value)


def test_requires_becomes_limits_and_a_region_list(tmp_path):
    tables = policy_tables(load_policy(write(tmp_path, "policy.yaml", POLICY)))
    limits = {(r["rule"], r["limit_value"], r["severity"]) for r in tables["raw.policy_limits"].to_pylist()}
    assert limits == {
        ("requires_tool_calling", Decimal(0), "breach"),
        ("requires_structured_output", Decimal(0), "breach"),
        ("requires_context_window", Decimal(100000), "warning"),
        ("requires_region", Decimal(0), "breach"),
        ("regression_threshold", Decimal("0.25"), "warning"),
    }
    assert tables["raw.policy_lists"].to_pylist() == [
        {"route": "support_faq", "rule": "requires_region", "value": "eu"}
    ]


@pytest.mark.parametrize(
    ("requires", "message"),
    [
        ("{tool_calling: false}", "routes[0] (rag): requires.tool_calling: Input should be True"),
        ("{region: [eu]}", "routes[0] (rag): requires.region: Extra inputs are not permitted"),
        ("{regions: []}", "routes[0] (rag): requires.regions: Value error, name at least one region"),
        ("{min_context_window: -1}", "routes[0] (rag): requires.min_context_window: Input should be greater than 0"),
    ],
)
def test_wrong_requirements_are_refused_naming_the_route_and_field(tmp_path, requires, message):
    with pytest.raises(UserError) as caught:
        load_policy(write(tmp_path, "policy.yaml", f"routes:\n  - {{route: rag, requires: {requires}}}"))
    assert message in str(caught.value)


# support_faq, week of 2026-03-02: c1 on m-small logged in eu, c2 on m-large with no region
# (it may run in us or eu: unknown), c3 on m-large logged in us.
#   tool calling: m-small false -> 1 offending call (breach)
#   structured output: neither model states it -> 3 unknown calls (warning)
#   context window 100000: m-small's 32000 -> 1 offending call (warning: warn_only)
#   region eu: c3 logged in us -> 1 offending; c2 -> 1 unknown (warning)
CALLS = [
    call("c1", "a1", "2026-03-03T10:00:00Z", region="eu"),
    call("c2", "a2", "2026-03-03T10:00:00Z", model="m-large"),
    call("c3", "a3", "2026-03-03T10:00:00Z", model="m-large", region="us"),
]


def test_the_build_loads_capabilities_and_finds_calls_without_them(tmp_path, prices_yaml, warehouse):
    catalog = prices_yaml(CAPABLE_CATALOG)
    write(catalog.parent, "policy.yaml", POLICY)
    con = warehouse([write_jsonl(tmp_path / "calls.jsonl", CALLS)], catalog)
    assert con.execute("SELECT * FROM raw.model_capabilities ORDER BY model").fetchall() == [
        ("acme", "m-large", 200000, True, None, ["eu", "us"]),
        ("acme", "m-small", 32000, False, None, ["us"]),
    ]
    violations = con.execute(
        "SELECT rule, limit_value, actual_value, offending, severity FROM marts.policy_violations ORDER BY rule"
    ).fetchall()
    assert violations == [
        ("requires_context_window", Decimal(100000), Decimal(1), 1, "warning"),
        ("requires_region", Decimal(0), Decimal(1), 1, "breach"),
        ("requires_region_unknown", Decimal(0), Decimal(1), 1, "warning"),
        ("requires_structured_output_unknown", Decimal(0), Decimal(3), 3, "warning"),
        ("requires_tool_calling", Decimal(0), Decimal(1), 1, "breach"),
    ]

"""Every SQL model against hand-computed rows: the YAML cases under tests/models/, run one model at a time.

The cases are specifications; this file collects them and checks the harness itself
(pipelines/model_tests.py): it fails, naming the model and the rows, when they differ.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.errors import UserError
from pipelines.model_tests import TESTS_DIR, Case, ModelTestFailure, load_all, load_cases, run_case
from pipelines.models import discover

CASES = load_all()


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, id=case.id, marks=[pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else [])
        for case in CASES
    ],
)
def test_model(case: Case):
    run_case(case)


def test_every_model_has_a_unit_test_file():
    tested = {case.model for case in CASES}
    untested = [m.name for m in discover() if m.name not in tested]
    assert untested == [], f"no cases in {TESTS_DIR} for {untested}"
    files = {path.stem for path in TESTS_DIR.glob("*.yaml")}
    assert files == tested, "name each file after its model: <schema>.<name>.yaml"


def case_from(tmp_path: Path, text: str) -> Case:
    path = tmp_path / "marts.route_weekly_status.yaml"
    path.write_text(text)
    return load_cases(path)[0]


STATUS_CASE = """
model: marts.route_weekly_status
tests:
  - name: two_statuses
    description: 3 ok calls and 1 timeout, so the timeout is 1/4 of the calls
    inputs:
      intermediate.int_route_week_rollup:
        - {grain: calls, week: 2026-03-02, route: rag, status: ok, calls: 3, cost_usd: '0.003'}
        - {grain: calls, week: 2026-03-02, route: rag, status: timeout, calls: 1, cost_usd: '0'}
    expect:
      - {week: 2026-03-02, route: rag, status: ok, calls: 3, cost_usd: '0.003', share_of_calls: 3/4}
      - {week: 2026-03-02, route: rag, status: timeout, calls: 1, cost_usd: '0', share_of_calls: EXPECTED}
"""


def test_a_right_expectation_passes(tmp_path):
    run_case(case_from(tmp_path, STATUS_CASE.replace("EXPECTED", "0.25")))


def test_a_wrong_expectation_fails_naming_the_model_the_case_and_the_row(tmp_path):
    case = case_from(tmp_path, STATUS_CASE.replace("EXPECTED", "1/3"))
    with pytest.raises(ModelTestFailure) as failure:
        run_case(case)
    message = str(failure.value)
    assert "marts.route_weekly_status, case 'two_statuses'" in message
    assert "2 rows expected, 2 returned: 1 differ, 0 missing, 0 unexpected" in message
    # the differing row side by side, the one wrong cell marked
    assert "status          timeout                   timeout\n" in message
    assert "share_of_calls  0.3333333333333333        0.25  <-- differs" in message


def test_money_is_compared_exactly(tmp_path):
    # 0.0030000000001 is not 0.003: no tolerance on DECIMAL
    text = STATUS_CASE.replace("EXPECTED", "0.25").replace("'0.003', share", "'0.0030000000001', share")
    with pytest.raises(ModelTestFailure, match=r"cost_usd        0\.0030000000001 +0\.003  <-- differs"):
        run_case(case_from(tmp_path, text))


def test_missing_and_unexpected_rows_are_listed(tmp_path):
    case = case_from(tmp_path, STATUS_CASE.replace("EXPECTED", "0.25"))
    expect = [
        {"week": "2026-03-02", "route": "rag", "status": "ok"},
        {"week": "2026-03-09", "route": "codegen", "status": "error"},
    ]
    with pytest.raises(ModelTestFailure) as failure:
        run_case(replace(case, expect=expect, columns=("week", "route", "status")))
    message = str(failure.value)
    assert "missing (expected, not returned): {week: 2026-03-09, route: codegen, status: error}" in message
    assert "unexpected (returned, not expected): {week: 2026-03-02, route: rag, status: timeout}" in message


def test_order_by_compares_row_by_row(tmp_path):
    case = case_from(tmp_path, STATUS_CASE.replace("EXPECTED", "0.25"))
    run_case(replace(case, order_by=("status",)))  # ok < timeout
    with pytest.raises(ModelTestFailure, match="expected row 1 differs"):
        run_case(replace(case, order_by=("calls",)))  # 1 (timeout) first


def test_a_missing_input_table_is_a_clear_error(tmp_path):
    case = case_from(tmp_path, STATUS_CASE.replace("EXPECTED", "0.25"))
    with pytest.raises(UserError) as error:
        run_case(replace(case, inputs={}))
    assert str(error.value) == (
        f"{case.path}: marts.route_weekly_status, case 'two_statuses': no input for "
        "intermediate.int_route_week_rollup; the model reads intermediate.int_route_week_rollup "
        "(give [] for an empty table)"
    )


def test_an_unknown_input_column_is_a_clear_error(tmp_path):
    case = case_from(tmp_path, STATUS_CASE.replace("EXPECTED", "0.25").replace("status: timeout, calls: 1", "state: x"))
    with pytest.raises(UserError, match=r"int_route_week_rollup row 2: no column state \(columns: grain, week"):
        run_case(case)


def test_an_unknown_expected_column_is_a_clear_error(tmp_path):
    case = case_from(tmp_path, STATUS_CASE.replace("EXPECTED", "0.25").replace("share_of_calls", "share"))
    with pytest.raises(UserError, match=r"the model returns no column share \(columns: week, route"):
        run_case(case)


def test_a_malformed_test_file_names_the_field(tmp_path):
    with pytest.raises(UserError, match=r"marts\.route_weekly_status\.yaml: tests\.0\.expect: Field required"):
        case_from(tmp_path, "model: marts.route_weekly_status\ntests:\n  - name: x\n    inputs: {}\n")


def _draw(action_id: str) -> str:
    return hashlib.md5(f"routeledger-sample:{action_id}".encode()).hexdigest()


@pytest.mark.parametrize(
    ("actions", "outliers", "costliest_drawn_first"),
    [
        (400, 8, False),  # both rankings see candidates only
        (400, 1, False),  # one action above the cost floor: every action ranked by cost
        (120, 5, True),  # the five costliest hash first: too few draws left, every action drawn
        (3, 0, False),  # fewer than five actions
    ],
)
def test_the_sample_is_the_costliest_five_and_the_first_five_draws(actions, outliers, costliest_drawn_first):
    """route_week_sample_calls ranks candidates (cost at or above mean + 2 SD, hashes starting
    with 0) when enough are kept: its rows must be those of ranking every action, as computed here."""
    rng = random.Random(actions * 10 + outliers)
    ids = [f"a{i:03d}" for i in range(actions)]
    costs = {i: None if rng.random() < 0.05 else Decimal(rng.randint(0, 5000)) / 1000 for i in ids}
    heavy = sorted(ids, key=_draw) if costliest_drawn_first else ids
    for rank, action_id in enumerate(heavy[:outliers]):
        costs[action_id] = Decimal(100 + rank)
    if costliest_drawn_first:
        assert 5 <= sum(_draw(i) < "1" for i in ids) < 10  # what the case is about
    by_cost = sorted(ids, key=lambda i: (costs[i] is None, -(costs[i] or 0), i))
    drawn = sorted(by_cost[5:], key=lambda i: (_draw(i), i))
    expect = [("most expensive", rank, i) for rank, i in enumerate(by_cost[:5], 1)]
    expect += [("random", rank, i) for rank, i in enumerate(drawn[:5], 1)]
    action = {"route": "rag", "week": "2026-03-02", "outcome": "completed"}
    call = {"call_role": "primary", "provider": "acme", "model": "m", "status": "ok", "ts": "2026-03-02T10:00:00Z"}
    run_case(
        Case(
            path=Path(__file__),
            model="marts.route_week_sample_calls",
            name=f"{actions}_actions_{outliers}_outliers",
            description="",
            inputs={
                "intermediate.int_actions": [
                    {**action, "action_id": i, "cost_usd": None if costs[i] is None else str(costs[i])} for i in ids
                ],
                "intermediate.int_call_costs": [{**call, "call_id": f"c-{i}", "action_id": i} for i in ids],
            },
            expect=[dict(zip(("sample", "sample_rank", "action_id"), row, strict=True)) for row in expect],
            columns=("sample", "sample_rank", "action_id"),
            order_by=(),
            xfail=None,
        )
    )

"""The CLI end to end, in subprocesses, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import duckdb
import pytest

from pipelines.demo.files import write_calls
from tests.conftest import ACME_CATALOG, CLI, ROOT, call, run_cli, write_jsonl


@pytest.mark.slow
def test_demo_then_ingest_build_and_prices_check(tmp_path):
    db = tmp_path / "data" / "warehouse.duckdb"
    demo = run_cli("demo", "--no-app", "--calls", "20000", "--db", str(db), cwd=tmp_path, check=True)
    assert "published" in demo.stdout
    snapshot = (db.parent / "published" / db.name / "CURRENT").read_text().strip()
    con = duckdb.connect(str(db.parent / "published" / db.name / snapshot), read_only=True)
    routes = {r[0] for r in con.execute("SELECT DISTINCT route FROM marts.route_weekly").fetchall()}
    weeks = con.execute("SELECT count(DISTINCT week) FROM marts.route_weekly").fetchone()[0]
    con.close()
    # DeepSeek (pricing/catalog.yaml, from 2026-08-16 16:00 UTC): 0.135 / 0.035 / 0.55 per 1M
    # tokens off-peak (the published night rates), twice that Mon-Fri 01:00-04:00 and 06:00-10:00 UTC
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    deepseek = con.execute(
        """SELECT price_window, count(*),
                  count(*) FILTER (WHERE input_cost_usd <> uncached_input_tokens * r * 0.000000135
                                      OR cached_input_cost_usd <> cached_input_tokens * r * 0.000000035
                                      OR output_cost_usd <> output_tokens * r * 0.00000055),
                  count(*) FILTER (WHERE (isodow(ts) <= 5 AND (hour(ts) BETWEEN 1 AND 3 OR hour(ts) BETWEEN 6 AND 9))
                                      <> (price_window IS NOT NULL))
           FROM (SELECT *, CASE WHEN price_window = 'peak' THEN 2 ELSE 1 END AS r FROM marts.call_costs
                 WHERE provider = 'deepseek' AND NOT is_response_cache_hit AND ts >= '2026-08-16 16:00:00+00')
           GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    con.close()
    assert [row[0] for row in deepseek] == ["peak", None] and all(row[1] > 0 for row in deepseek)
    assert [row[2:] for row in deepseek] == [(0, 0), (0, 0)]  # every call at its own rate, in its own window
    assert routes == {
        "classification", "extraction", "summarization", "support_faq",
        "rag_answer", "codegen", "planning", "batch_enrichment",
    }  # fmt: skip
    assert weeks == 12
    _the_demo_stories_show_in_the_analysis(db)

    # the demo again: same files, already loaded, nothing new
    again = run_cli("demo", "--no-app", "--calls", "20000", "--db", str(db), cwd=tmp_path, check=True)
    assert "already in" in again.stdout and "already loaded" in again.stdout

    # a file of our own on top, then a build with our catalog
    extra = write_jsonl(
        tmp_path / "extra.jsonl", [call("x1", "xa", "2026-11-02T10:00:00Z", provider="openai", model="gpt-5.4-mini")]
    )
    ingest = run_cli("ingest", "logs", str(extra), "--db", str(db), check=True)
    assert "extra.jsonl" in ingest.stdout and "loaded" in ingest.stdout
    build = run_cli("build", "--db", str(db), check=True)
    for model in ("marts.call_costs", "marts.action_costs", "marts.route_weekly", "marts.data_health"):
        assert model in build.stdout

    # the demo logs a reranker nobody prices: prices check lists it and fails (exit 1)
    check = run_cli("prices", "check", "--db", str(db))
    assert check.returncode == 1
    assert "acme-rerank-v1" in check.stdout and "acme-faq-ft-v2" not in check.stdout


def _the_demo_stories_show_in_the_analysis(db) -> None:
    """Issue 13's "done when", on the small demo: the spend deltas point at the planted
    stories, `check` flags classification in week 6 and passes a clean week, and
    policy_compare shows the week-5 canary against its control."""
    snapshot = (db.parent / "published" / db.name / "CURRENT").read_text().strip()
    con = duckdb.connect(str(db.parent / "published" / db.name / snapshot), read_only=True)
    try:
        mondays = [r[0] for r in con.execute("SELECT DISTINCT week FROM marts.route_weekly ORDER BY 1").fetchall()]

        def parts_by_size(week: int, route: str | None) -> dict:
            row = con.execute(
                "SELECT volume_usd, attempts_usd, mix_usd, tokens_usd, cache_usd, price_usd FROM marts.spend_deltas"
                " WHERE week = ? AND route IS NOT DISTINCT FROM ? AND grain = if(? IS NULL, 'total', 'route')",
                [mondays[week - 1], route, route],
            ).fetchone()
            parts = dict(zip(("volume", "attempts", "mix", "tokens", "cache", "price"), row, strict=True))
            return dict(sorted(parts.items(), key=lambda part: -abs(part[1])))

        fallback_spike = parts_by_size(6, "classification")  # premium fallbacks: more calls, pricier ones
        assert next(iter(fallback_spike)) == "mix" and fallback_spike["attempts"] > 0
        assert next(iter(parts_by_size(9, "rag_answer"))) == "tokens"  # the long-context cliff
        price = con.execute(
            "SELECT price_usd FROM marts.spend_deltas WHERE grain = 'total' AND week = ?", [mondays[9]]
        ).fetchone()[0]
        assert price < 0  # the negotiated price from week 10
        assert con.execute(
            "SELECT count(*) FROM marts.spend_deltas WHERE price_usd <> 0 AND week <> ?", [mondays[9]]
        ).fetchone() == (0,)
        canary = con.execute(
            "SELECT policy_version, is_control, fallback_rate_low, fallback_rate_high FROM marts.policy_compare"
            " WHERE route = 'classification' AND week = ? ORDER BY is_control",
            [mondays[4]],
        ).fetchall()
        assert [(version, is_control) for version, is_control, *_ in canary] == [("cls-v3", False), ("cls-v2", True)]
        assert canary[0][2] > canary[1][3]  # the canary falls back more, beyond both intervals
    finally:
        con.close()
    week_6 = run_cli("check", "--db", str(db), "--week", mondays[5].isoformat(), "--format", "json")
    assert week_6.returncode == 1
    assert ("classification", "max_fallback_rate") in {
        (f["scope"], f["rule"]) for f in json.loads(week_6.stdout)["findings"]
    }
    clean = run_cli("check", "--db", str(db), "--week", mondays[2].isoformat())
    assert clean.returncode == 0, clean.stdout


def test_exit_codes_and_one_line_reasons(tmp_path):
    db = str(tmp_path / "w.duckdb")
    missing = run_cli("ingest", "logs", str(tmp_path / "nope.jsonl"), "--db", db)
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"routeledger: {tmp_path / 'nope.jsonl'}: no such file or directory"

    (tmp_path / "billing.csv").write_text("BillingPeriodStart,BilledCost\n2026-03-01,12.5\n")
    not_logs = run_cli("ingest", "logs", str(tmp_path / "billing.csv"), "--db", db)
    assert not_logs.returncode == 2
    assert "not a routing log" in not_logs.stderr and len(not_logs.stderr.strip().splitlines()) == 1

    good = write_jsonl(tmp_path / "ok.jsonl", [call("c1", "a1", "2026-03-02T10:00:00Z"), "not json"])
    ok = run_cli("ingest", "logs", str(good), "--db", db)
    assert ok.returncode == 0, ok.stderr  # rejected rows are not a failure of the run
    assert "loaded with rejects" in ok.stdout

    (tmp_path / "bad.yaml").write_text(
        "models:\n  - provider: acme\n    model: m\n    prices:\n"
        "      - effective_from: 2026-01-01\n        input: lots\n        output: 1\n"
    )
    bad_catalog = run_cli("build", "--db", db, "--prices", str(tmp_path / "bad.yaml"))
    assert bad_catalog.returncode == 2
    assert "bad.yaml: models[0] (acme/m): prices.0.input" in bad_catalog.stderr


def test_kill_9_mid_ingest_leaves_a_consistent_warehouse(tmp_path):
    files = [write_calls(tmp_path / f"part-{i}.jsonl", 200_000, seed=i, fmt="jsonl") for i in range(4)]
    db = tmp_path / "w.duckdb"
    process = subprocess.Popen([*CLI, "ingest", "logs", *map(str, files), "--db", str(db)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    lock = db.with_name(db.name + ".lock")
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # into the loads
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "ingest ended before the kill: make the files bigger"

    con = duckdb.connect(str(db), read_only=True)
    loaded_rows, load_rows = con.execute(
        "SELECT (SELECT count(*) FROM raw.calls), (SELECT coalesce(sum(rows_loaded), 0) FROM raw.loads)"
    ).fetchone()
    orphans = con.execute(
        "SELECT count(*) FROM raw.calls WHERE load_id NOT IN (SELECT load_id FROM raw.loads)"
    ).fetchone()[0]
    con.close()
    assert loaded_rows == load_rows and orphans == 0  # every row belongs to a committed load

    rerun = run_cli("ingest", "logs", *map(str, files), "--db", str(db), check=True)
    assert "loaded" in rerun.stdout
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT call_id) FROM raw.calls").fetchone() == (800_000, 800_000)
    assert con.execute("SELECT count(*) FROM raw.loads").fetchone()[0] == 4
    con.close()


def test_prices_list_and_a_replacement_catalog(tmp_path):
    catalog = tmp_path / "team.yaml"
    catalog.write_text(ACME_CATALOG)
    listed = run_cli("prices", "list", "--prices", str(catalog), check=True)
    assert "m-small" in listed.stdout and "m-large" in listed.stdout
    assert "2026-03-04" in listed.stdout  # the second m-large price
    published = run_cli("prices", "list", "--provider", "openai", "--model", "gpt-4.1-mini", check=True)
    assert "gpt-4.1-mini" in published.stdout and "genai-prices" in published.stdout


def test_build_without_any_logs_publishes_empty_marts(tmp_path):
    db = tmp_path / "w.duckdb"
    result = run_cli("build", "--db", str(db), check=True)
    assert "published" in result.stdout
    pointer = (db.parent / "published" / db.name / "CURRENT").read_text().strip()
    assert pointer.startswith("marts-")

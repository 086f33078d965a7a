"""The duplicate check against earlier loads reads raw.call_keys (hash(call_id), ts), not every
loaded call, and still finds a call_id sent again whatever its ts and however old its load."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from pipelines.ingest import keys
from pipelines.ingest.logs import run_ingest_logs
from tests.conftest import call, rows, write_jsonl


def loads(db) -> list[tuple]:
    return rows(
        db, "SELECT rows_read, rows_loaded, rows_rejected, rows_duplicate, status FROM raw.loads ORDER BY load_id"
    )


def three_loads(tmp_path, db) -> None:
    """March 2nd, then April 15th (with a bad line), then June 1st sending earlier calls again."""
    march = write_jsonl(
        tmp_path / "2026-03-02.jsonl",
        [call("c1", "a1", "2026-03-02T10:00:00Z"), call("c2", "a2", "2026-03-02T11:00:00Z")],
    )
    april = write_jsonl(
        tmp_path / "2026-04-15.jsonl",
        [call("c3", "a3", "2026-04-15T08:00:00Z"), call("c4", "a4", "2026-04-15T09:00:00Z", output_tokens=-5)],
    )
    june = write_jsonl(
        tmp_path / "2026-06-01.jsonl",
        [
            call("c1", "a1", "2026-03-02T10:00:00Z"),  # March's c1 again, same content: a duplicate
            call("c2", "a2", "2026-06-01T09:00:00Z"),  # March's c2 with another ts: conflicts
            call("c9", "a9", "2026-06-01T10:00:00Z"),  # new
            call("c3", "a3", "2026-04-15T08:00:00Z"),  # April's c3 again: a duplicate
        ],
    )
    run_ingest_logs(db, [str(march)])
    run_ingest_logs(db, [str(april)])
    run_ingest_logs(db, [str(june)])


def test_a_call_id_sent_again_is_found_whatever_its_ts_and_the_age_of_its_load(tmp_path, db):
    three_loads(tmp_path, db)
    assert loads(db) == [
        (2, 2, 0, 0, "loaded"),
        (2, 1, 1, 0, "loaded with rejects"),
        (4, 1, 1, 2, "loaded with rejects"),
    ]
    assert rows(db, "SELECT load_id, source_row, reason FROM raw.rejects ORDER BY load_id, source_row") == [
        (2, 2, "output_tokens: must be >= 0, got -5"),
        (3, 2, "call_id c2: conflicts with a loaded row (load 1)"),
    ]
    # what was loaded first stays; c2 keeps its March ts
    assert rows(db, "SELECT call_id, load_id, strftime(ts, '%m-%d %H:%M') FROM raw.calls ORDER BY call_id") == [
        ("c1", 1, "03-02 10:00"),
        ("c2", 1, "03-02 11:00"),
        ("c3", 2, "04-15 08:00"),
        ("c9", 3, "06-01 10:00"),
    ]
    # one key per loaded call, none for the rejected c4 (set aside, then taken out)
    assert rows(
        db,
        """SELECT c.call_id, k.key = hash(c.call_id), k.ts = c.ts
        FROM raw.calls c FULL JOIN raw.call_keys k ON k.key = hash(c.call_id) ORDER BY c.call_id""",
    ) == [("c1", True, True), ("c2", True, True), ("c3", True, True), ("c9", True, True)]
    # the checked path reads the loaded calls between the first and last ts of its call_ids' keys
    con = duckdb.connect(str(db), read_only=True)
    try:
        span = keys.loaded_span(con, "SELECT * FROM (VALUES ('c2'), ('c3'), ('c404')) t(call_id)")
        assert span == (datetime(2026, 3, 2, 11, tzinfo=UTC), datetime(2026, 4, 15, 8, tzinfo=UTC))
        assert keys.loaded_span(con, "SELECT 'c404' AS call_id") == (None, None)
    finally:
        con.close()


def test_keys_that_do_not_match_the_calls_are_rebuilt_before_a_load(tmp_path, db):
    march = write_jsonl(
        tmp_path / "2026-03-02.jsonl",
        [call("c1", "a1", "2026-03-02T10:00:00Z"), call("c2", "a2", "2026-03-02T11:00:00Z")],
    )
    run_ingest_logs(db, [str(march)])
    # keys of another hash function (a DuckDB upgrade), then a warehouse older than the keys
    for damage in (
        "UPDATE raw.call_keys SET key = key + 1; UPDATE raw.call_keys_hash SET canary = canary + 1",
        "DELETE FROM raw.call_keys; DELETE FROM raw.call_keys_hash",
    ):
        con = duckdb.connect(str(db))
        con.execute(damage)
        con.close()
        again = write_jsonl(tmp_path / f"again-{len(loads(db))}.jsonl", [call("c1", "a1", "2026-05-05T10:00:00Z")])
        run_ingest_logs(db, [str(again)])
        assert loads(db)[-1] == (1, 0, 1, 0, "loaded with rejects")
        assert rows(db, "SELECT count(*), count(DISTINCT key) FROM raw.call_keys") == [(2, 2)]
        assert rows(db, "SELECT count(*) FROM raw.call_keys k JOIN raw.calls c ON k.key = hash(c.call_id)") == [(2,)]

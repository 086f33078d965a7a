"""The duplicate check's keys: `raw.call_keys` holds hash(call_id), ts and load_id of every loaded call.

A new file's call_ids are compared with these 8-byte keys, never with the call_id text of
every loaded call, so ingest of one day does not slow down as the warehouse grows: the
check hashes the file's own call_ids and probes the keys' one column (a join filter
skips what cannot match). Only on a hit, rare unless a call was sent again, are calls
read from raw.calls, and then only those whose ts falls between the hit keys' ts: a
call_id sent again with another ts is still found, whatever day it was loaded.

A hash collision only costs the checked path, which compares call_ids exactly.
`raw.call_keys_hash` holds DuckDB's hash of a fixed text at the time the keys were
computed: a DuckDB whose hash differs, or keys that do not count as many rows as
raw.calls (a warehouse older than the keys, calls written by something else than
ingest), rebuild them from raw.calls before the first file loads.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

CANARY = "routeledger call_keys"  # hashed to tell whether the stored keys used today's hash()


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild raw.call_keys from raw.calls if they do not match (outside any transaction)."""
    (hashed,) = con.execute("SELECT hash(?)", [CANARY]).fetchone()
    stored = con.execute("SELECT canary FROM raw.call_keys_hash").fetchall()
    calls, keys = con.execute(
        "SELECT (SELECT count(*) FROM raw.calls), (SELECT count(*) FROM raw.call_keys)"
    ).fetchone()
    if stored == [(hashed,)] and calls == keys:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM raw.call_keys")
        con.execute("INSERT INTO raw.call_keys SELECT hash(call_id), ts, load_id FROM raw.calls")
        con.execute("DELETE FROM raw.call_keys_hash")
        con.execute("INSERT INTO raw.call_keys_hash VALUES (?)", [hashed])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def check_and_record(con: duckdb.DuckDBPyConnection, load_id: int) -> tuple[int, bool]:
    """(rows of this load, whether a call_id may repeat), adding the load's keys to raw.call_keys.

    "May repeat": two rows of the load share a hash, or a row's hash is a loaded call's.
    The caller rolls the keys back with the load when one may.
    """
    con.execute(
        "INSERT INTO raw.call_keys SELECT hash(call_id), ts, load_id FROM raw.calls WHERE load_id = ?", [load_id]
    )
    loaded, distinct = con.execute(
        "SELECT count(*), count(DISTINCT key) FROM raw.call_keys WHERE load_id = ?", [load_id]
    ).fetchone()
    repeats = loaded != distinct or (
        con.execute("SELECT 1 FROM raw.call_keys WHERE load_id <> ? LIMIT 1", [load_id]).fetchone() is not None
        and con.execute(
            "SELECT 1 FROM raw.call_keys WHERE load_id <> $1 AND key IN "
            "(SELECT key FROM raw.call_keys WHERE load_id = $1) LIMIT 1",
            [load_id],
        ).fetchone()
        is not None
    )
    return loaded, repeats


def record(con: duckdb.DuckDBPyConnection, load_id: int) -> None:
    """Add the keys of this load's calls (the checked path, which compared call_ids itself)."""
    con.execute(
        "INSERT INTO raw.call_keys SELECT hash(call_id), ts, load_id FROM raw.calls WHERE load_id = ?", [load_id]
    )


def loaded_span(con: duckdb.DuckDBPyConnection, call_ids: str) -> tuple[datetime, datetime] | tuple[None, None]:
    """(first, last) ts of the loaded calls whose key is the hash of one of `call_ids` (a query).

    Every loaded call with one of these call_ids lies in that span; (None, None) when none can.
    """
    return con.execute(
        f"SELECT min(ts), max(ts) FROM raw.call_keys WHERE key IN (SELECT hash(call_id) FROM ({call_ids}))"
    ).fetchone()

"""Issue 16, ingest half: every promise held under hostile input. Each test is one class of
defect found by an adversarial probe: rows lost without a word, prompt text stored, values
at the edges."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import duckdb

from pipelines.ingest import sources
from pipelines.ingest.logs import run_ingest_logs
from tests.conftest import call, run_cli, write_jsonl

TS = "2026-03-02T10:00:00Z"


def rows(db: Path, sql: str, *params) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def counts(result) -> tuple[int, int, int, int]:
    return result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_duplicate


def test_a_line_over_the_size_limit_fails_its_file_naming_the_limit(tmp_path, db):
    # 10,001 good lines (past the reader's sample), one bad, one of 40 MiB, one good line:
    # DuckDB's line reader drops such a line silently; the file must fail instead, alone.
    lines = [json.dumps(call(f"c{i}", "a", TS)) for i in range(10_001)]
    lines.append(json.dumps(call("bad", "a", TS, output_tokens=-1)))
    lines.append(json.dumps(call("huge", "a", TS, note="x" * (40 << 20))))
    lines.append(json.dumps(call("last", "a", TS)))
    good = write_jsonl(tmp_path / "good.jsonl", [call("g1", "a", TS)])
    [result, other], _ = run_ingest_logs(db, [str(write_jsonl(tmp_path / "long.jsonl", lines)), str(good)])
    assert result.status == "failed" and "longer than the 16777216-byte limit" in result.error
    assert (other.status, rows(db, "SELECT call_id FROM raw.calls")) == ("loaded", [("g1",)])


def test_a_file_appended_to_while_loading_is_read_again(tmp_path, db, monkeypatch):
    path = write_jsonl(tmp_path / "live.jsonl", [call("c1", "a", TS), call("c2", "a", TS)])
    original = sources.Sha256.result
    appended = []

    def append_then_hash(self):
        if not appended:  # the writer adds a line after the rows were read, before the hash is taken
            with path.open("a") as handle:
                handle.write(json.dumps(call("c3", "a", TS)) + "\n")
            appended.append(True)
        return original(self)

    monkeypatch.setattr(sources.Sha256, "result", append_then_hash)
    [result], _ = run_ingest_logs(db, [str(path)])
    assert counts(result) == (3, 3, 0, 0)
    assert rows(db, "SELECT sha256, size_bytes FROM raw.loads") == [
        (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size)
    ]


def awkward_directory(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a_empty.jsonl").write_bytes(b"")
    # a lone CR inside a JSON value: that line is not JSON, the next one loads
    (logs / "b_cr.jsonl").write_bytes(
        b'{"call_id": "cr1", "action_id": "a", "ts": "' + TS.encode() + b'", "route": "x\ry", '
        b'"provider": "acme", "model": "m"}\n' + json.dumps(call("cr2", "a", TS)).encode() + b"\n"
    )
    # mixed LF / CRLF endings in a CSV
    header = "call_id,action_id,ts,route,provider,model,output_tokens"
    (logs / "c_mixed.csv").write_bytes(
        f"{header}\r\ncsv1,a,{TS},r,acme,m,1\ncsv2,a,{TS},r,acme,m,-1\r\ncsv3,a,{TS},r,acme,m,2\n".encode()
    )
    # a gzipped JSON-lines file with CRLF endings and one bad row
    with gzip.open(logs / "d_crlf.jsonl.gz", "wb") as handle:
        handle.write(
            (
                json.dumps(call("gz1", "a", TS)) + "\r\n" + json.dumps(call("gz2", "a", TS, output_tokens=-1)) + "\r\n"
            ).encode()
        )
    (logs / "e_broken.jsonl.gz").write_bytes(b"this is not gzip at all")
    write_jsonl(logs / "f_good.jsonl", [call("good1", "a", TS)])
    return logs


def test_one_files_trouble_is_that_files_alone(tmp_path, db):
    results, _ = run_ingest_logs(db, [str(awkward_directory(tmp_path))])
    assert [(r.path.name, r.status, counts(r)) for r in results] == [
        ("a_empty.jsonl", "empty", (0, 0, 0, 0)),
        ("b_cr.jsonl", "loaded with rejects", (2, 1, 1, 0)),
        ("c_mixed.csv", "loaded with rejects", (3, 2, 1, 0)),
        ("d_crlf.jsonl.gz", "loaded with rejects", (2, 1, 1, 0)),
        ("e_broken.jsonl.gz", "failed", (0, 0, 0, 0)),
        ("f_good.jsonl", "loaded", (1, 1, 0, 0)),
    ]
    assert "e_broken.jsonl.gz: cannot read as jsonl.gz" in results[4].error
    assert rows(db, "SELECT source_row, reason FROM raw.rejects ORDER BY source_path") == [
        (1, "not valid JSON"),
        (3, "output_tokens: must be >= 0, got -1"),
        (2, "output_tokens: must be >= 0, got -1"),
    ]
    # raw.loads adds up (its CHECK holds) and the loaded rows are all there: 1 + 2 + 1 + 1
    assert rows(db, "SELECT count(*) FROM raw.calls") == [(5,)]


def test_the_summary_prints_and_the_run_exits_2_when_a_file_cannot_be_read(tmp_path, db):
    result = run_cli("ingest", "logs", str(awkward_directory(tmp_path)), "--db", str(db))
    assert result.returncode == 2
    assert "f_good.jsonl" in result.stdout and "failed" in result.stdout
    assert result.stderr.count("\n") == 1 and "e_broken.jsonl.gz: cannot read as jsonl.gz" in result.stderr


def test_a_grown_file_counts_its_old_bad_lines_as_duplicates(tmp_path, db):
    bad = call("b1", "a", TS, output_tokens=-1)
    path = write_jsonl(tmp_path / "grows.jsonl", [call("c1", "a", TS), bad])
    run_ingest_logs(db, [str(path)])
    write_jsonl(path, [call("c1", "a", TS), bad, call("c2", "a", TS)])
    [result], _ = run_ingest_logs(db, [str(path)])
    # 3 lines read = 1 loaded (c2) + 0 rejected + 2 duplicates (c1 loaded before, b1 rejected before)
    assert counts(result) == (3, 1, 0, 2)
    assert rows(db, "SELECT count(*) FROM raw.rejects") == [(1,)]


def test_a_file_named_like_a_glob_is_a_file(tmp_path):
    path = write_jsonl(tmp_path / "calls[1]*?.jsonl", [call("c1", "a", TS)])
    files, _ = sources.expand([str(path)])
    assert [f.path.name for f in files] == ["calls[1]*?.jsonl"]


MARKER = "MARKER-PROMPT-7f3a"


def test_no_prompt_text_reaches_any_table_or_file(tmp_path, db):
    free = {
        "prompt": MARKER,
        "Prompt": MARKER,
        "meta": {"prompt": MARKER, "deep": [{"x": MARKER}]},
        "choices": [{"message": {"content": MARKER}}],
        "query": MARKER,
        "answer": MARKER,
    }
    lines = [
        call("ok", "a", TS, **free),  # loads
        call("neg", "a", TS, output_tokens=-1, **free),  # a bad value
        call("nest", "a", TS, route={"prompt": MARKER}, input_tokens=[MARKER]),  # nested canonical values
        call("ok", "a", TS, output_tokens=7, **free),  # conflicts in the file
        json.dumps(call("trunc", "a", TS, **free))[:-15],  # not JSON
        json.dumps([MARKER]),  # not an object
        MARKER,  # not JSON at all
        '{"call_id": "dup", "query": "' + MARKER + '", "query": 1}',  # duplicate key
    ]
    write_jsonl(tmp_path / "in" / "p.jsonl", lines)
    with gzip.open(tmp_path / "in" / "p.jsonl.gz", "wt") as handle:
        handle.write("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines[1:]) + "\n")
    csv = tmp_path / "in" / "p.csv"
    csv.write_text(
        "call_id,action_id,ts,route,provider,model,output_tokens,Prompt,answer\n"
        f"csv1,a,{TS},r,acme,m,-1,{MARKER},{MARKER}\n"
        f"csv2,a,{TS},r,acme,m,1,{MARKER},{MARKER},{MARKER}\n"
        f'csv3,a,{TS},r,acme,m,1,"{MARKER}\n'
    )
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT 'pq' || i AS call_id, 'a' AS action_id, TIMESTAMPTZ '{TS}' AS ts, "
        f"{{'prompt': '{MARKER}'}} AS route, 'acme' AS provider, 'm' AS model, -i AS output_tokens, "
        f"'{MARKER}' AS Prompt, ['{MARKER}'] AS messages FROM range(2) t(i)) TO '{tmp_path}/in/p.parquet'"
    )
    con.close()
    run_ingest_logs(db, [str(tmp_path / "in")])
    assert rows(db, "SELECT count(*) FROM raw.rejects")[0][0] >= 15

    con = duckdb.connect(str(db), read_only=True)
    columns = con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
    ).fetchall()
    for schema, table, column in columns:
        found = con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE contains("{column}", ?)', [MARKER])
        assert found.fetchone()[0] == 0, f"{schema}.{table}.{column}"
    con.close()
    for path in db.parent.rglob("*"):
        if path.is_file():
            assert MARKER.encode() not in path.read_bytes(), path


TS_RULE = "ts: must be ISO-8601 (offset up to ±14:00; none means UTC) or epoch milliseconds, got "


def test_values_at_the_edges_follow_one_rule_in_every_format(tmp_path, db):
    lines = [
        call("max", "a", TS, input_tokens=10_000_000_000),  # the limit itself loads
        call("over", "a", TS, input_tokens=10_000_000_001),
        call("obj", "a", TS, route={"a": 1}),
        call("bool", "a", TS, model=True),
        call("exp", "a", TS, output_tokens="1e3"),  # the string loads as the number 1e3 does
        call("pst", "a", "2026-03-02T10:00:00 PST"),
        call("far", "a", "2026-03-02T10:00:00+15:00"),
        call("nul", "a", TS, route="a\u0000b"),
        '{"call_id": "twice", "call_id": "again", "action_id": "a"}',
    ]
    path = write_jsonl(tmp_path / "edges.jsonl", lines)
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT 'pq' || i AS call_id, 'a' AS action_id, TIMESTAMPTZ '{TS}' AS ts, 'r' AS route, "
        "'acme' AS provider, 'm' AS model, [1.0, 'nan'::DOUBLE, 'inf'::DOUBLE][i + 1] AS latency_ms "
        f"FROM range(3) t(i)) TO '{tmp_path}/edges.parquet'"
    )
    con.close()
    (tmp_path / "quoted.csv").write_text(
        f'call_id,action_id,ts,route,provider,model,team\nq1,a,{TS},r,acme,m,"two\nlines"\nq2,a,{TS},r,acme,m,-\n'
        f"q3,a,{TS},r,,m,x\n"
    )
    run_ingest_logs(db, [str(path), str(tmp_path / "edges.parquet"), str(tmp_path / "quoted.csv")])
    assert rows(db, "SELECT source_row, reason FROM raw.rejects ORDER BY source_path, source_row") == [
        (2, "input_tokens: must be an integer between 0 and 10000000000, got 10000000001"),
        (3, "route: must be a single text or number, got a object"),
        (4, "model: must be a single text or number, got a boolean"),
        (
            6,
            TS_RULE + "2026-03-02T10:00:00 PST",
        ),
        (
            7,
            TS_RULE + "2026-03-02T10:00:00+15:00",
        ),
        (8, "route: must not contain NUL characters"),
        (9, "key call_id: appears twice in the object"),
        (2, "latency_ms: must be a finite number, got nan"),
        (3, "latency_ms: must be a finite number, got inf"),
        (5, "provider: required, missing"),  # line 5: the quoted value spans lines 2-3
    ]
    assert rows(db, "SELECT call_id, input_tokens, output_tokens FROM raw.calls WHERE call_id IN ('max', 'exp')") == [
        ("max", 10_000_000_000, 100),
        ("exp", 1000, 1000),
    ]

"""Issue 16, ingest half: every promise held under hostile input. Each test is one class of
defect found by an adversarial probe: rows lost without a word, prompt text stored, values
at the edges."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.ingest import sources
from pipelines.ingest.logs import run_ingest_logs
from tests.conftest import call, rows, run_cli, write_jsonl

TS = "2026-03-02T10:00:00Z"


def counts(result) -> tuple[int, int, int, int]:
    return result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_duplicate


LIMIT = 16 << 20  # MAX_LINE_BYTES


def line_of(size: int, call_id: str) -> str:
    """A valid JSON line of exactly `size` bytes, padded in a field no rule reads."""
    bare = json.dumps(call(call_id, "a", TS, note=""))
    return json.dumps(call(call_id, "a", TS, note="x" * (size - len(bare))))


def test_a_line_over_the_size_limit_is_one_reject_naming_its_length(tmp_path, db):
    # 10,001 good lines (past the reader's sample), one bad, one of 40 MiB, one good line:
    # DuckDB's line reader drops such a line silently; it must be one reject, storing none of it.
    lines = [json.dumps(call(f"c{i}", "a", TS)) for i in range(10_001)]
    lines.append(json.dumps(call("bad", "a", TS, output_tokens=-1)))
    lines.append(line_of(40 << 20, "huge"))
    lines.append(json.dumps(call("last", "a", TS)))
    [result], _ = run_ingest_logs(db, [str(write_jsonl(tmp_path / "long.jsonl", lines))])
    # 10,004 lines = 10,002 loaded (c0..c10000, last) + 2 rejected (bad at 10,002, huge at 10,003)
    assert (result.status, counts(result)) == ("loaded with rejects", (10_004, 10_002, 2, 0))
    assert rows(db, "SELECT source_row, reason, raw_record FROM raw.rejects WHERE source_row = 10003") == [
        (10_003, "line is 41943040 bytes, over the 16777216-byte limit", None)
    ]


def test_the_size_limit_is_one_rule_on_both_paths(tmp_path, db):
    # A clean file takes the direct path, which used to load a 17 MiB line; the checked path
    # rejects it. A line of exactly the limit loads on both; one byte more is rejected on both.
    clean = write_jsonl(tmp_path / "a_clean.jsonl", [line_of(LIMIT, "at"), line_of(LIMIT + 1, "over1")])
    first = write_jsonl(
        tmp_path / "b_first.jsonl", [line_of(17 << 20, "over17"), line_of(LIMIT, "at2"), call("bad", "a", "x")]
    )
    results, _ = run_ingest_logs(db, [str(clean), str(first)])
    # a_clean: 2 lines = 1 loaded + 1 rejected; b_first: 3 lines = 1 loaded + 2 rejected
    assert [counts(r) for r in results] == [(2, 1, 1, 0), (3, 1, 2, 0)]
    assert rows(db, "SELECT call_id FROM raw.calls ORDER BY call_id") == [("at",), ("at2",)]
    assert rows(db, "SELECT source_row, reason FROM raw.rejects WHERE reason LIKE 'line is%' ORDER BY reason") == [
        (2, "line is 16777217 bytes, over the 16777216-byte limit"),
        (1, "line is 17825792 bytes, over the 16777216-byte limit"),
    ]


def test_a_csv_line_over_the_size_limit_is_one_reject_and_inside_quotes_fails_its_file(tmp_path, db):
    header = f"call_id,action_id,ts,route,provider,model,note\nk1,a,{TS},r,acme,m,x\n"
    # read_csv drops a last line longer than its buffer (32 MiB) without a word
    last = f"k2,a,{TS},r,acme,m,"
    long_last = tmp_path / "a_last.csv"
    long_last.write_text(header + last + "x" * ((33 << 20) - len(last)) + "\n")
    quoted = tmp_path / "b_quoted.csv"
    quoted.write_text(header + f'k3,a,{TS},"r\n' + "x" * (LIMIT + 1) + '\n",acme,m,x\n')
    a, b = run_ingest_logs(db, [str(long_last), str(quoted)])[0]
    # a_last: 2 rows = 1 loaded (k1) + 1 rejected (line 3); b_quoted fails alone, naming line 4
    assert counts(a) == (2, 1, 1, 0)
    assert rows(db, "SELECT source_row, reason, raw_record FROM raw.rejects") == [
        (3, "line is 34603008 bytes, over the 16777216-byte limit", None)
    ]
    assert b.status == "failed" and "line 4 is over the 16777216-byte limit inside a quoted value" in b.error


def test_valid_json_holding_the_text_of_a_control_escape_loads_on_the_checked_path(tmp_path, db):
    # The checked path's line reader split lines at the four characters \x01, which valid JSON
    # holds after an escaped backslash; the direct path loaded such a line, the checked one refused it.
    path = write_jsonl(tmp_path / "esc.jsonl", [call("e1", "a", TS, route="C:\\x01"), call("bad", "a", "x")])
    [result], _ = run_ingest_logs(db, [str(path)])
    assert counts(result) == (2, 1, 1, 0)
    assert rows(db, "SELECT route FROM raw.calls") == [("C:\\x01",)]


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
        (1, "not valid JSON: a raw control character (\\x01 or a lone CR) in the line"),
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


def test_a_file_named_like_a_glob_is_read_itself_not_what_the_pattern_matches(tmp_path, db):
    # `a[1].jsonl` as a pattern matches `a1.jsonl`; `b*.jsonl` matches `bx.jsonl` too.
    directory = tmp_path / "logs"
    write_jsonl(directory / "a[1].jsonl", [call("in-bracket-file", "a", TS)])
    write_jsonl(directory / "a1.jsonl", [call("in-a1", "a", TS)])
    write_jsonl(directory / "b*.jsonl", [call("in-star-file", "b", TS)])
    write_jsonl(directory / "bx.jsonl", [call("in-bx", "b", TS)])
    results, _ = run_ingest_logs(db, [str(directory)])
    assert sorted((r.path.name, counts(r)) for r in results) == [
        ("a1.jsonl", (1, 1, 0, 0)),
        ("a[1].jsonl", (1, 1, 0, 0)),
        ("b*.jsonl", (1, 1, 0, 0)),
        ("bx.jsonl", (1, 1, 0, 0)),
    ]
    assert rows(db, "SELECT call_id FROM raw.calls ORDER BY 1") == [
        ("in-a1",),
        ("in-bracket-file",),
        ("in-bx",),
        ("in-star-file",),
    ]


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


def zstd(path: Path, data: bytes) -> Path:
    with pa.CompressedOutputStream(str(path), "zstd") as out:
        out.write(data)
    return path


def test_zstd_files_get_the_same_line_endings_and_line_checks(tmp_path, db):
    good, bad = json.dumps(call("z1", "a", TS)).encode(), json.dumps(call("z3", "a", TS, output_tokens=-1)).encode()
    cr = b'{"call_id": "z2", "action_id": "a", "ts": "' + TS.encode() + b'", "route": "x\ry"}'
    jsonl = zstd(tmp_path / "a.jsonl.zst", b"\r\n".join([good, cr, bad, json.dumps(call("z4", "a", TS)).encode()]))
    header = b"call_id,action_id,ts,route,provider,model,output_tokens"
    csv = zstd(
        tmp_path / "b.csv.zst",
        header + b"\r\nk1,a," + TS.encode() + b',"x\ry",acme,m,1\r\nk2,a,' + TS.encode() + b",r,acme,m,-1\r\n",
    )
    results, _ = run_ingest_logs(db, [str(jsonl), str(csv)])
    # a.jsonl.zst: 4 lines = 2 loaded (z1, z4) + 2 rejected; b.csv.zst: 2 rows = 1 loaded + 1 rejected
    assert [counts(r) for r in results] == [(4, 2, 2, 0), (2, 1, 1, 0)]
    assert rows(db, "SELECT call_id, route FROM raw.calls WHERE call_id = 'k1'") == [("k1", "x\ry")]
    assert rows(db, "SELECT source_row, reason FROM raw.rejects ORDER BY source_path, source_row") == [
        (2, "not valid JSON: a raw control character (\\x01 or a lone CR) in the line"),
        (3, "output_tokens: must be >= 0, got -1"),
        (3, "output_tokens: must be >= 0, got -1"),
    ]


def test_a_lone_cr_in_a_csv_is_data_when_quoted_and_a_line_end_when_not(tmp_path, db):
    header = "call_id,action_id,ts,route,provider,model,output_tokens"
    path = tmp_path / "cr.csv"
    path.write_bytes(f'{header}\r\nk1,a,{TS},"x\ry",acme,m,1\rk2,a,{TS},r,acme,m,2\nk3,a,{TS},r,acme,m,-1\r\n'.encode())
    [result], _ = run_ingest_logs(db, [str(path)])
    # lines: header 1, k1 2, k2 3 (after the unquoted CR), k3 4; 3 rows = 2 loaded + 1 rejected
    assert counts(result) == (3, 2, 1, 0)
    assert rows(db, "SELECT call_id, route FROM raw.calls ORDER BY call_id") == [("k1", "x\ry"), ("k2", "r")]
    assert rows(db, "SELECT source_row, reason FROM raw.rejects") == [(4, "output_tokens: must be >= 0, got -1")]


def test_csv_rows_the_reader_cannot_split_keep_their_line_after_quoted_newlines(tmp_path, db):
    header = "call_id,action_id,ts,route,provider,model,output_tokens"
    path = tmp_path / "quoted.csv"
    path.write_text(
        f"{header}\n"
        f'q1,a,{TS},"two\nlines",acme,m,1\n'  # lines 2-3
        f"q2,a,{TS},r,acme,m,1,extra\n"  # line 4: one column too many
        f'q3,a,{TS},"a\nb",acme,m,1,extra\n'  # lines 5-6: the same, across two lines
        f"q4,a,{TS},r,acme,m,-1\n"  # line 7: a bad value
        f"q5,a,{TS},r,acme,m,1\n"  # line 8
    )
    [result], _ = run_ingest_logs(db, [str(path)])
    assert counts(result) == (5, 2, 3, 0)
    assert rows(db, "SELECT source_row, reason FROM raw.rejects ORDER BY source_row") == [
        (4, "more columns than the 7 of the header"),
        (5, "more columns than the 7 of the header"),
        (7, "output_tokens: must be >= 0, got -1"),
    ]

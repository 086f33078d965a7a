"""Ingest reliability: every bad row is quarantined with a reason, counts add up, a file
loads whole or not at all, and loading it again changes nothing."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.errors import UserError
from pipelines.ingest import sources
from pipelines.ingest.logs import run_ingest_logs
from tests.conftest import call, rows, write_jsonl

GOOD = call("g1", "a1", "2026-03-02T10:00:00Z")

# (line as written, the reason stored in raw.rejects)
BAD_LINES = [
    (json.dumps(call("b1", "a", "2026-03-02T10:00:00Z", output_tokens=-5)), "output_tokens: must be >= 0, got -5"),
    (json.dumps({k: v for k, v in call("b2", "a", "x").items() if k != "ts"}), "ts: required, missing"),
    (
        json.dumps(call("b3", "a", "yesterday")),
        "ts: must be ISO-8601 (offset up to ±14:00; none means UTC) or epoch milliseconds, got yesterday",
    ),
    (json.dumps(call("b4", "a", 1772445600)), "ts: must be between 2000-01-01 and 2100-01-01, got 1772445600"),
    (
        json.dumps(call("b5", "a", "2026-03-02T10:00:00Z", input_tokens=1.5)),
        "input_tokens: must be an integer between 0 and 10000000000, got 1.5",
    ),
    (
        json.dumps(call("b6", "a", "2026-03-02T10:00:00Z", input_tokens=2**63)),
        "input_tokens: must be an integer between 0 and 10000000000, got 9223372036854775808",
    ),
    (
        json.dumps(call("b7", "a", "2026-03-02T10:00:00Z", call_role="boss")),
        "call_role: must be one of primary, retry, fallback, validation, tool, classifier, got boss",
    ),
    (
        json.dumps(call("b8", "a", "2026-03-02T10:00:00Z", batch="maybe")),
        "batch: must be true or false, got maybe",
    ),
    (
        json.dumps(
            call("b9", "a", "2026-03-02T10:00:00Z", input_tokens=100, cached_input_tokens=80, cache_write_tokens=30)
        ),
        "cached_input_tokens + cache_write_tokens: must be <= input_tokens, got 80 + 30 > 100",
    ),
    (
        json.dumps(call("b10", "a", "2026-03-02T10:00:00Z", cache_write_tokens=10, cache_write_1h_tokens=11)),
        "cache_write_1h_tokens: must be <= cache_write_tokens, got 11 > 10",
    ),
    (
        json.dumps(call("b11", "a", "2026-03-02T10:00:00Z", output_tokens=10, reasoning_tokens=11)),
        "reasoning_tokens: must be <= output_tokens, got 11 > 10",
    ),
    (
        json.dumps(call("b12", "a", "2026-03-02T10:00:00Z", latency_ms="fast")),
        "latency_ms: must be a finite number, got fast",
    ),
    ('{"call_id": "b13", "action_id": ', "not valid JSON"),
    ("[1, 2, 3]", "not a JSON object, got array"),
    ('"just a string"', "not a JSON object, got varchar"),
]
# What is stored of a line that is not a JSON object: its leading canonical fields, if any.
STORED = {
    '{"call_id": "b13", "action_id": ': '{"call_id": "b13", …[cut: 32 characters in all; '
    "only leading canonical fields kept]",
    "[1, 2, 3]": "…[cut: 9 characters in all; only leading canonical fields kept]",
    '"just a string"': "…[cut: 15 characters in all; only leading canonical fields kept]",
}


def loads(db: Path) -> list[tuple]:
    return rows(
        db, "SELECT rows_read, rows_loaded, rows_rejected, rows_duplicate, status FROM raw.loads ORDER BY load_id"
    )


def test_each_kind_of_bad_row_is_rejected_with_its_reason(tmp_path, db):
    lines = (
        [json.dumps(GOOD)] + [line for line, _ in BAD_LINES] + [json.dumps(call("g2", "a2", "2026-03-02T11:00:00Z"))]
    )
    path = write_jsonl(tmp_path / "mixed.jsonl", lines)
    [result], _ = run_ingest_logs(db, [str(path)])

    expected = [(row, reason, STORED.get(line, line)) for row, (line, reason) in enumerate(BAD_LINES, start=2)]
    assert rows(db, "SELECT source_row, reason, raw_record FROM raw.rejects ORDER BY source_row") == expected
    assert sorted(r[0] for r in rows(db, "SELECT call_id FROM raw.calls")) == ["g1", "g2"]
    # counts add up: 17 lines read = 2 loaded + 15 rejected
    assert (result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_duplicate) == (17, 2, 15, 0)
    assert loads(db) == [(17, 2, 15, 0, "loaded with rejects")]


def test_unreadable_bytes_blank_lines_and_line_numbers(tmp_path, db):
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(
        json.dumps(GOOD).encode()
        + b"\n\n"  # a blank line is not a row, but keeps its number
        + b'{"call_id": "x", "team": "caf\xe9"}\n'  # latin-1, not UTF-8
        + json.dumps(call("g2", "a2", "2026-03-02T11:00:00Z", output_tokens=-1)).encode()
        + b"\r\n"
    )
    [result], _ = run_ingest_logs(db, [str(path)])
    assert rows(db, "SELECT source_row, reason FROM raw.rejects ORDER BY source_row") == [
        (3, "line is not valid UTF-8 (invalid bytes shown as ?)"),
        (4, "output_tokens: must be >= 0, got -1"),
    ]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 1, 2)


def test_prompt_and_response_text_are_never_stored(tmp_path, db):
    secret = "PLEASE DO NOT STORE THIS PROMPT"
    good = call("g1", "a1", "2026-03-02T10:00:00Z", prompt=secret, response=secret)
    bad = call("b1", "a1", "2026-03-02T10:00:00Z", output_tokens=-1, messages=[{"content": secret}])
    run_ingest_logs(db, [str(write_jsonl(tmp_path / "p.jsonl", [good, bad]))])
    dump = duckdb.connect(str(db), read_only=True)
    text = str(dump.execute("SELECT * FROM raw.calls").fetchall()) + str(
        dump.execute("SELECT * FROM raw.rejects").fetchall()
    )
    dump.close()
    assert secret not in text
    assert rows(db, "SELECT json_extract_string(raw_record, '$.call_id') FROM raw.rejects") == [("b1",)]


def test_prompt_text_is_cut_from_lines_that_do_not_parse(tmp_path, db):
    secret = "My SSN is 123-45-6789"
    truncated = json.dumps(call("t1", "a1", "2026-03-02T10:00:00Z", prompt=secret))[:-20]
    csv_text = (
        "call_id,action_id,ts,route,provider,model,prompt\n"
        "c1,a1,2026-03-02T10:00:00Z,faq,acme,m-small,hello\n"
        f'c2,a2,2026-03-02T10:00:00Z,faq,acme,m-small,"{secret}",surplus\n'
        f'c3,a3,2026-03-02T10:00:00Z,faq,acme,m-small,"{secret}\n'
    )
    (tmp_path / "p.csv").write_text(csv_text)
    run_ingest_logs(db, [str(write_jsonl(tmp_path / "t.jsonl", [GOOD, truncated])), str(tmp_path / "p.csv")])
    stored = rows(db, "SELECT source_path, source_row, raw_record FROM raw.rejects ORDER BY source_path, source_row")
    assert stored and all(secret not in record for _, _, record in stored), stored
    [(_, line, record)] = [r for r in stored if r[0].endswith("t.jsonl")]
    assert (
        line == 2 and record.startswith('{"call_id": "t1"') and record.endswith("only leading canonical fields kept]")
    )
    assert all("withheld" in record for path, _, record in stored if path.endswith("p.csv"))


def test_duplicates_and_conflicts(tmp_path, db):
    first = write_jsonl(
        tmp_path / "day1.jsonl",
        [
            call("c1", "a1", "2026-03-02T10:00:00Z"),
            call("c1", "a1", "2026-03-02T10:00:00Z"),  # exact duplicate in the file
            call("c2", "a2", "2026-03-02T11:00:00Z"),
            call("c2", "a2", "2026-03-02T11:00:00Z", output_tokens=999),  # same id, other content
        ],
    )
    second = write_jsonl(
        tmp_path / "day2.jsonl",
        [
            call("c1", "a1", "2026-03-02T12:00:00+02:00"),  # the same instant as loaded: a duplicate
            call("c7", "a7", "2026-03-02T13:00:00Z"),
            call("c2", "a2", "2026-03-02T11:00:00Z", output_tokens=5),  # conflicts with the loaded c2
        ],
    )
    run_ingest_logs(db, [str(first), str(second)])
    assert loads(db) == [(4, 2, 1, 1, "loaded with rejects"), (3, 1, 1, 1, "loaded with rejects")]
    assert rows(db, "SELECT load_id, source_row, reason FROM raw.rejects ORDER BY load_id, source_row") == [
        (1, 4, "call_id c2: conflicts with line 3 of this file"),
        (2, 3, "call_id c2: conflicts with a loaded row (load 1)"),
    ]
    # what was loaded first is never overwritten
    assert rows(db, "SELECT call_id, output_tokens FROM raw.calls ORDER BY call_id") == [
        ("c1", 100),
        ("c2", 100),
        ("c7", 100),
    ]


def test_loading_the_same_file_again_changes_nothing(tmp_path, db):
    path = write_jsonl(tmp_path / "calls.jsonl", [GOOD, call("b", "a", "2026-03-02T10:00:00Z", output_tokens=-1)])
    run_ingest_logs(db, [str(path)])
    before = rows(db, "SELECT * FROM raw.calls"), rows(db, "SELECT * FROM raw.rejects"), loads(db)

    copy = tmp_path / "renamed" / "copy.jsonl"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    results, _ = run_ingest_logs(db, [str(path), str(copy)])
    assert [r.status for r in results] == ["already loaded", "already loaded"]
    assert (rows(db, "SELECT * FROM raw.calls"), rows(db, "SELECT * FROM raw.rejects"), loads(db)) == before


@pytest.mark.parametrize("bad_rows", [False, True], ids=["direct", "checked"])
def test_a_file_that_fails_half_way_leaves_nothing_behind(tmp_path, db, monkeypatch, bad_rows):
    run_ingest_logs(db, [str(write_jsonl(tmp_path / "before.jsonl", [GOOD]))])
    before = rows(db, "SELECT * FROM raw.calls"), loads(db)
    lines = [call(f"c{i}", "a", "2026-03-02T10:00:00Z") for i in range(50)]
    if bad_rows:
        lines.append(call("bad", "a", "2026-03-02T10:00:00Z", output_tokens=-1))
    path = write_jsonl(tmp_path / "breaks.jsonl", lines)

    def disk_on_fire(self):
        raise OSError("disk on fire")

    # The hash is taken after the rows are inserted and before the load commits.
    monkeypatch.setattr(sources.Sha256, "result", disk_on_fire)
    with pytest.raises(OSError, match="disk on fire"):
        run_ingest_logs(db, [str(path)])
    monkeypatch.undo()
    assert (rows(db, "SELECT * FROM raw.calls"), loads(db)) == before
    assert rows(db, "SELECT count(*) FROM raw.rejects") == [(0,)]
    # and the file loads fine afterwards
    [result], _ = run_ingest_logs(db, [str(path)])
    assert result.rows_loaded == 50


def test_csv_and_parquet_and_gzip(tmp_path, db):
    con = duckdb.connect()
    good = [call(f"c{i}", f"a{i}", "2026-03-02T10:00:00Z", input_tokens=10 * i) for i in range(1, 4)]
    jsonl = write_jsonl(tmp_path / "src.jsonl", good)
    con.execute(f"COPY (SELECT * FROM read_json('{jsonl}')) TO '{tmp_path}/calls.csv' (HEADER)")
    csv_text = (tmp_path / "calls.csv").read_text().splitlines()
    # a CSV row with a bad value and one with an extra column
    csv_text.append(csv_text[1].replace("c1,a1", "c9,a9").replace(",10,", ",-10,"))
    csv_text.append(csv_text[2].replace("c2,a2", "c8,a8") + ",surplus")
    (tmp_path / "calls.csv").write_text("\n".join(csv_text) + "\n")
    with gzip.open(tmp_path / "more.jsonl.gz", "wt") as handle:
        handle.write(json.dumps(call("z1", "z", "2026-03-02T10:00:00Z")) + "\n")
    con.execute(
        "COPY (SELECT * REPLACE ('p' || call_id AS call_id, ts::TIMESTAMPTZ AS ts, "
        f"input_tokens::DOUBLE AS input_tokens) FROM read_json('{jsonl}')) TO '{tmp_path}/calls.parquet'"
    )
    results, _ = run_ingest_logs(
        db, [str(tmp_path / "calls.csv"), str(tmp_path / "more.jsonl.gz"), str(tmp_path / "calls.parquet")]
    )
    assert [(r.format, r.rows_read, r.rows_loaded, r.rows_rejected) for r in results] == [
        ("csv", 5, 3, 2),
        ("jsonl.gz", 1, 1, 0),
        ("parquet", 3, 3, 0),
    ]
    assert rows(db, "SELECT source_row, reason FROM raw.rejects ORDER BY source_row") == [
        (5, "input_tokens: must be >= 0, got -10"),
        (6, "more columns than the 10 of the header"),
    ]
    # a Parquet DOUBLE of integral token counts loads as integers
    assert rows(db, "SELECT input_tokens FROM raw.calls WHERE call_id = 'pc2'") == [(20,)]


def test_files_directories_and_globs(tmp_path):
    (tmp_path / "logs" / "2026").mkdir(parents=True)
    write_jsonl(tmp_path / "logs" / "2026" / "a.jsonl", [GOOD])
    write_jsonl(tmp_path / "logs" / "b.ndjson", [GOOD])
    (tmp_path / "logs" / "README.md").write_text("notes")
    files, skipped = sources.expand([str(tmp_path / "logs")])
    assert [f.path.name for f in files] == ["a.jsonl", "b.ndjson"]
    assert [p.name for p in skipped] == ["README.md"]
    files, _ = sources.expand([str(tmp_path / "logs" / "**" / "*.jsonl")])
    assert [f.path.name for f in files] == ["a.jsonl"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.jsonl", None, "no such file or directory"),
        ("calls.txt", "hello", "unknown format"),
        ("billing.csv", "BillingPeriodStart,BilledCost\n2026-03-01,12.5\n", "not a routing log: no call_id, action_id"),
        ("nothing*.jsonl", None, "no file matches this pattern"),
    ],
)
def test_unusable_input_is_refused_before_anything_loads(tmp_path, db, name, content, message):
    good = write_jsonl(tmp_path / "good.jsonl", [GOOD])
    if content is not None:
        (tmp_path / name).write_text(content)
    with pytest.raises(UserError, match=message):
        run_ingest_logs(db, [str(good), str(tmp_path / name)])
    assert not db.exists() or rows(db, "SELECT count(*) FROM raw.calls") == [(0,)]

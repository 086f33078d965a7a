"""What a rejected record keeps: its canonical fields only, never a prompt or a response."""

from __future__ import annotations

from pipelines.ingest.fields import FIELD_NAMES, quote
from pipelines.ingest.sources import SourceFile

MAX_RAW_RECORD_CHARS = 65_536
# A JSON string, number, true, false or null, for the regular expressions of `redacted`.
JSON_SCALAR = r'"([^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null'
CSV_WITHHELD = "[withheld: the line could not be split into columns]"


def redacted(raw_record: str, source: SourceFile) -> str:
    """SQL: a rejected record's text as stored, keeping only what the contract knows.

    Prompts and responses hide under any key, at any depth and in any case, so nothing
    but the canonical fields is kept:
    - A JSON object: stored as read when it holds canonical fields with plain values
      only; else rebuilt from them, a nested value replaced by a note.
    - Any other line (not JSON, not an object, unreadable): its leading canonical
      `"field": value` pairs, cut at the first anything else, and its length.
    - A CSV or Parquet row: rebuilt from the canonical columns when staged; a CSV line the
      reader could not split is withheld.
    - A line over the size limit: nothing (NULL); none of it was read.
    """
    if source.format != "jsonl":
        return (
            f"CASE WHEN {raw_record} IS NULL THEN NULL WHEN starts_with({raw_record}, '{{') THEN {raw_record} "
            f"ELSE {quote(CSV_WITHHELD)} END"
        )
    as_json = f"TRY_CAST({raw_record} AS JSON)"  # TRY_: JSON functions may run on every row
    names = "[" + ", ".join(quote(name) for name in FIELD_NAMES) + "]"
    paths = "[" + ", ".join(quote(json_path(name)) for name in FIELD_NAMES) + "]"
    plain = (
        f"list_has_all({names}, json_keys({as_json})) "
        f"AND len(json_keys({as_json})) = len(list_distinct(json_keys({as_json}))) "
        f"AND NOT list_has_any(json_type({as_json}, {paths}), ['OBJECT', 'ARRAY'])"
    )
    values = ", ".join(
        f"{quote(name)}, CASE WHEN json_type({as_json}, {quote(json_path(name))}) IN ('OBJECT', 'ARRAY') "
        f"THEN to_json('[' || lower(json_type({as_json}, {quote(json_path(name))})) || ' withheld]') "
        f"ELSE json_extract({as_json}, {quote(json_path(name))}) END"
        for name in FIELD_NAMES
    )
    # json_merge_patch drops the NULLs: the fields the record does not have.
    rebuilt = f"json_merge_patch('{{}}', json_object({values}))::VARCHAR"
    pairs = quote(r"^[{](\s*\"(" + "|".join(FIELD_NAMES) + r")\"\s*:\s*(" + JSON_SCALAR + r")\s*,)*")
    prefix = (
        f"concat_ws(' ', nullif(regexp_extract({raw_record}, {pairs}), ''), '…[cut: ' || length({raw_record}) "
        "|| ' characters in all; only leading canonical fields kept]')"
    )
    text = (
        f"CASE WHEN json_type({as_json}) = 'OBJECT' AND {plain} THEN {raw_record} "
        f"WHEN json_type({as_json}) = 'OBJECT' THEN {rebuilt} ELSE {prefix} END"
    )
    return (
        f"CASE WHEN {raw_record} IS NULL THEN NULL WHEN length({text}) > {MAX_RAW_RECORD_CHARS} "
        f"THEN left({text}, {MAX_RAW_RECORD_CHARS}) || ' …[truncated]' ELSE {text} END"
    )


def json_path(name: str) -> str:
    return f'$."{name}"'

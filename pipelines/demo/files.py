"""The demo's files, written week by week from `iter_weeks`.

`write_demo` lays out what the demo ingests: the gateway's gzipped JSON lines (with the
data-quality issues) and the batch workers' Parquet; `write_calls` writes one clean file in
any of FORMATS; `write_call_parts` writes the same stream as numbered Parquet part files, for
scales where one file is unwieldy. Text timestamps are ISO-8601, as the gateway logs them.
"""

from __future__ import annotations

import gzip
import io
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.demo import scenario as sc
from pipelines.demo.generator import SCHEMA, iter_weeks, iter_weeks_with_cut_rows, labels
from pipelines.demo.world import HOUR_MS, weekly_targets

FORMATS = ("parquet", "jsonl", "csv")
LITELLM_REGION = "us-east-1"  # write_demo(adapter_logs=True): this region's gateway is a LiteLLM proxy
OTEL_ROUTE, OTEL_SERVICE = "summarization", "summarizer"  # ... and this route's service traces with OpenTelemetry


def _utc_offset_minutes(ms: np.ndarray, zone: str) -> np.ndarray:
    """The zone's UTC offset at each epoch-ms instant (offsets change on the hour in UTC)."""
    if ms.size == 0:
        return np.zeros(0, dtype=np.int64)
    tz = ZoneInfo(zone)
    first, last = int(ms.min() // HOUR_MS), int(ms.max() // HOUR_MS)
    hourly = [datetime.fromtimestamp(h * 3600, tz=tz).utcoffset().total_seconds() // 60 for h in range(first, last + 1)]
    return np.array(hourly, dtype=np.int64)[ms // HOUR_MS - first]


def _iso_timestamps(table: pa.Table) -> pa.Array:
    """ts as ISO-8601 text: local time with its offset in GATEWAY_TIMEZONE regions, else UTC 'Z'."""
    ts = table["ts"].combine_chunks()
    ms = ts.cast(pa.int64()).fill_null(0).to_numpy()
    region = table["region"].to_numpy(zero_copy_only=False)
    offset = np.full(ms.size, -1_000_000)  # no offset: UTC
    for name, zone in sc.GATEWAY_TIMEZONE.items():
        local = region == name
        offset[local] = _utc_offset_minutes(ms[local], zone)
    shifted = np.where(offset == -1_000_000, ms, ms + offset * 60_000)
    text = pc.strftime(pa.array(shifted, pa.timestamp("ms")), format="%Y-%m-%dT%H:%M:%S")
    kinds, code = np.unique(offset, return_inverse=True)
    suffixes = tuple(
        "Z" if k == -1_000_000 else f"{'+' if k >= 0 else '-'}{abs(k) // 60:02d}:{abs(k) % 60:02d}" for k in kinds
    )
    joined = pc.binary_join_element_wise(text, labels(suffixes, code), "")
    return pc.if_else(ts.is_null(), pa.scalar(None, pa.string()), joined)


def _as_text_ts(table: pa.Table) -> pa.Table:
    i = table.schema.get_field_index("ts")
    return table.set_column(i, pa.field("ts", pa.string()), _iso_timestamps(table))


def _ndjson(table: pa.Table) -> bytes:
    """JSON lines, one per row, keys in FIELD_NAMES order, ts as ISO-8601 text."""
    buffer = io.BytesIO()
    pl.from_arrow(_as_text_ts(table)).write_ndjson(buffer)
    return buffer.getvalue()


def _broken_ndjson(table: pa.Table, cut: np.ndarray) -> bytes:
    """JSON lines with the missing-ts rows' key dropped and the `cut` rows' lines cut in half."""
    data = _ndjson(table).replace(b'"ts":null,', b"")
    lines = data.split(b"\n")
    for row in cut:  # a handful of rows
        lines[row] = lines[row][: len(lines[row]) // 2]
    return b"\n".join(lines)


def write_demo(
    out_dir: Path,
    n_calls: int = 1_000_000,
    seed: int = 7,
    end: date | None = None,
    weeks: int = 12,
    adapter_logs: bool = False,
) -> list[Path]:
    """Write the demo's log files under `out_dir` and return their paths.

    `gateway/gateway-<monday>.jsonl.gz`: every route but the batch one, one file per week;
    `batch/batch-worker-<monday>.parquet`: the batch route, written by its workers. The
    ISSUE_WEEK gateway file (only that one) holds bad lines and re-emitted duplicates.
    Earlier demo files in those folders are removed first, so the folder is one period.
    With `adapter_logs` (not in the ISSUE_WEEK, whose gateway file stays whole), the
    OTEL_ROUTE actions that GenAI spans can describe go to `otel/<service>-<monday>.json` as
    an OTLP/JSON export, and the other calls of the LITELLM_REGION gateway that LiteLLM can
    describe to `litellm/spendlogs-<monday>.csv`, as LiteLLM's SpendLogs export.
    """
    from pipelines.demo.litellm_logs import split_expressible, write_spend_logs
    from pipelines.demo.otel_spans import split_expressible_actions, write_otlp

    out_dir = Path(out_dir)
    gateway_dir, batch_dir, litellm_dir = out_dir / "gateway", out_dir / "batch", out_dir / "litellm"
    otel_dir = out_dir / "otel"
    for folder, pattern in (
        (gateway_dir, "gateway-*.jsonl.gz"),
        (batch_dir, "batch-worker-*.parquet"),
        (litellm_dir, "spendlogs-*.csv"),
        (otel_dir, f"{OTEL_SERVICE}-*.json"),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(pattern):
            old.unlink()
    paths = []
    for monday, table, cut in iter_weeks_with_cut_rows(n_calls, seed, end, weeks, inject_issues=True):
        is_batch = pc.equal(table["route"], sc.BATCH_ROUTE)
        gateway = table.filter(pc.invert(is_batch))
        gateway_rows = np.cumsum(~is_batch.to_numpy(zero_copy_only=False)) - 1
        if adapter_logs and not cut.size:
            traced, gateway = split_expressible_actions(gateway, OTEL_ROUTE)
            paths.append(write_otlp(traced, otel_dir / f"{OTEL_SERVICE}-{monday.isoformat()}.json", OTEL_SERVICE))
            litellm, gateway = split_expressible(gateway, LITELLM_REGION)
            paths.append(write_spend_logs(litellm, litellm_dir / f"spendlogs-{monday.isoformat()}.csv"))
        gateway_path = gateway_dir / f"gateway-{monday.isoformat()}.jsonl.gz"
        data = _broken_ndjson(gateway, gateway_rows[cut]) if cut.size else _ndjson(gateway)
        gateway_path.write_bytes(gzip.compress(data, compresslevel=3, mtime=0))
        batch_path = batch_dir / f"batch-worker-{monday.isoformat()}.parquet"
        pq.write_table(table.filter(is_batch), batch_path, compression="zstd")
        paths += [gateway_path, batch_path]
    return paths


def write_calls(path: Path, n_calls: int, seed: int = 7, fmt: str = "parquet", end: date | None = None) -> Path:
    """One clean file of `n_calls` calls (12 weeks), written week by week in bounded memory.

    `fmt`: parquet (ts as timestamp with time zone), jsonl or csv (ts as ISO-8601 text, as
    the gateway logs it); a path ending in .gz is gzip-compressed.
    """
    if fmt not in FORMATS:
        raise ValueError(f"write_calls: fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    weeks = iter_weeks(n_calls, seed, end)
    if fmt == "parquet":
        with pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer:
            for _, table in weeks:
                writer.write_table(table)
        return path
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as out:
        if fmt == "jsonl":
            for _, table in weeks:
                out.write(_ndjson(table))
        else:
            text_schema = _as_text_ts(SCHEMA.empty_table()).schema
            with pacsv.CSVWriter(out, text_schema) as writer:
                for _, table in weeks:
                    writer.write_table(_as_text_ts(table))
    return path


def part_paths(out_dir: Path, n_calls: int, per_part: int) -> list[Path]:
    """The Parquet part files `write_call_parts` writes: part-00.parquet, part-01.parquet, ..."""
    count = -(-n_calls // per_part)
    width = max(2, len(str(count - 1)))
    return [Path(out_dir) / f"part-{i:0{width}d}.parquet" for i in range(count)]


def write_call_parts(
    out_dir: Path, n_calls: int, per_part: int, seed: int = 7, end: date | None = None, weeks: int = 12
) -> list[Path]:
    """`write_calls`'s Parquet stream of `n_calls` calls cut into parts of `per_part` rows (the last
    one holds the rest), in ts order, each written as `<part>.partial` and renamed when complete.

    Resumable: a part that exists is kept, and the weeks wholly before the first missing part
    are not generated (each week has its own random stream), so an interrupted run goes on
    where it stopped. Returns every part's path.
    """
    paths = part_paths(out_dir, n_calls, per_part)
    missing = [i for i, path in enumerate(paths) if not path.exists()]
    if not missing:
        return paths
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    week_starts = np.concatenate([[0], np.cumsum(weekly_targets(n_calls, weeks))])
    first_row = missing[0] * per_part
    first_week = int(np.searchsorted(week_starts, first_row, side="right"))  # 1-based: the week holding it
    writers: dict[int, pq.ParquetWriter] = {}
    row = int(week_starts[first_week - 1])  # the stream's row number of the next week's first call
    for _, table in iter_weeks(n_calls, seed, end, weeks, first_week=first_week):
        offset = 0
        while offset < table.num_rows:
            part = (row + offset) // per_part
            take = min((part + 1) * per_part - (row + offset), table.num_rows - offset)
            if part in missing:
                if part not in writers:
                    writers[part] = pq.ParquetWriter(_partial(paths[part]), SCHEMA, compression="zstd")
                writers[part].write_table(table.slice(offset, take))
                if (row + offset + take) % per_part == 0 or row + offset + take == n_calls:  # the part is full
                    writers.pop(part).close()
                    _partial(paths[part]).replace(paths[part])
            offset += take
        row += table.num_rows
        if not writers and all(i < row // per_part for i in missing):
            break  # every missing part is written: the later weeks are not needed
    return paths


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")

"""FOCUS 1.0-1.3 exports (CSV or Parquet) and the OpenAI dashboard's cost CSV."""

from __future__ import annotations

import duckdb

from pipelines.errors import UserError
from pipelines.ingest.sources import SourceFile


def stage(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    raise UserError(f"{source.path}: FOCUS files are not supported yet")


def stage_openai_csv(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    raise UserError(f"{source.path}: the OpenAI dashboard cost CSV is not supported yet")

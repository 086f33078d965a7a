"""Restated exports: a new file for the same source, account and period replaces the old lines.

Providers rewrite recent days (late usage, corrections) and clouds rewrite the open
month, so a second export of a period is not more spend, it is the spend. For each
(x_SourceFormat, BillingAccountId, SubAccountId) the staged file holds, the lines that
earlier loads hold for that source and account and that start inside the period the
new file covers for it ([earliest ChargePeriodStart, latest ChargePeriodEnd)) are
deleted before the new lines go in. The same file again is skipped earlier (sha256).
The issuer of the bill (InvoiceIssuerName; for usage reports, the provider) is part of the
account, so two clouds' FOCUS files that both leave accounts empty never replace each other.
"""

from __future__ import annotations

import duckdb


def restate(con: duckdb.DuckDBPyConnection, load_id: int, target: str) -> tuple[int, str | None]:
    """Delete the lines the staged file restates; (lines deleted, the load ids they came from)."""
    issuer = "InvoiceIssuerName" if target == "raw.billing_lines" else "ServiceProviderName"
    con.execute(
        f"""CREATE TEMP TABLE __covers AS
        SELECT x_SourceFormat, {issuer} AS issuer, BillingAccountId, SubAccountId,
            min(ChargePeriodStart) AS covers_from, max(ChargePeriodEnd) AS covers_until
        FROM __billing WHERE reject_reason IS NULL GROUP BY ALL"""
    )
    con.execute(
        f"""CREATE TEMP TABLE __replaced AS
        SELECT t.rowid AS line_rowid, t.load_id FROM {target} t JOIN __covers c
            ON t.x_SourceFormat = c.x_SourceFormat
            AND t.{issuer} IS NOT DISTINCT FROM c.issuer
            AND t.BillingAccountId IS NOT DISTINCT FROM c.BillingAccountId
            AND t.SubAccountId IS NOT DISTINCT FROM c.SubAccountId
            AND t.ChargePeriodStart >= c.covers_from AND t.ChargePeriodStart < c.covers_until
        WHERE t.load_id <> {load_id}"""
    )
    replaced, load_ids = con.execute(
        "SELECT count(*), array_to_string(list_sort(list_distinct(list(load_id))), ',') FROM __replaced"
    ).fetchone()
    if replaced:
        con.execute(f"DELETE FROM {target} WHERE rowid IN (SELECT line_rowid FROM __replaced)")
    return replaced, load_ids

"""The `routeledger` command line: parse arguments, call one function per command.

Exit codes: 0 success (rejected rows included), 1 a failed check, 2 bad usage or
bad input, with a one-line reason on stderr.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.console import err, failure_tables, load_summary, new_progress, out
from pipelines.errors import CheckFailed, UserError

if TYPE_CHECKING:
    from pipelines.audits import AuditResult
    from pipelines.models import Built
    from pipelines.warehouse import Warehouse

app = typer.Typer(
    name="routeledger",
    help="FinOps cost analytics for routed LLM traffic.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(help="Load input files into the warehouse.", no_args_is_help=True)
prices_app = typer.Typer(help="Show and check the price catalog.", no_args_is_help=True)
export_app = typer.Typer(help="Write the warehouse's costs in standard formats.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(export_app, name="export")
app.add_typer(prices_app, name="prices")
lake_app = typer.Typer(help="The raw tables as a Parquet lake, for `build --engine spark`.", no_args_is_help=True)
app.add_typer(lake_app, name="lake")


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


def _print_version(requested: bool) -> None:
    if requested:
        from importlib.metadata import version

        out.print(f"routeledger {version('routeledger')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
) -> None:
    """FinOps cost analytics for routed LLM traffic."""


DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Warehouse file (default: $ROUTELEDGER_DB, else data/warehouse.duckdb)",
        show_default=False,
        metavar="PATH",
    ),
]


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


PricesOption = Annotated[
    Path | None,
    typer.Option("--prices", help="Price catalog replacing pricing/catalog.yaml", show_default=False, metavar="PATH"),
]


@ingest_app.command("logs")
def ingest_logs(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files, directories or globs: .jsonl .ndjson .csv .parquet .json (OTLP), and .gz/.zst", metavar="PATH"
        ),
    ],
    db: DbOption = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="canonical, litellm, otel or langfuse (default: found from each file's columns or keys)",
            show_default=False,
        ),
    ] = None,
    route_from: Annotated[
        str | None,
        typer.Option(
            "--route-from",
            help="The route's source: a LiteLLM metadata key or request tag, an OpenTelemetry span attribute",
            show_default=False,
            metavar="KEY",
        ),
    ] = None,
    engine: Annotated[
        Engine, typer.Option("--engine", help="duckdb: into the warehouse; spark: JSON lines into the lake (--lake)")
    ] = Engine.duckdb,
    lake: Annotated[Path | None, typer.Option("--lake", help="The lake folder (spark)", metavar="DIR")] = None,
    spark_master: Annotated[str, typer.Option("--spark-master", help="Spark master URL (spark)")] = "local[*]",
) -> None:
    """Load routing logs (canonical, LiteLLM, OpenTelemetry, Langfuse) into raw.calls; bad rows go to raw.rejects."""
    if engine is Engine.spark:
        _ingest_on_spark(paths, lake, spark_master)
        return
    from pipelines.ingest.logs import run_ingest_logs

    with new_progress() as progress:
        results, skipped = run_ingest_logs(db, paths, progress, log_format, route_from)
    out.print(load_summary(results))
    for path in skipped:
        err.print(f"skipped {path}: not a known log format")
    failed = [r.error for r in results if r.error]
    if failed:  # after every other file loaded and the summary printed
        raise UserError(" | ".join(failed))


def _ingest_on_spark(paths: list[str], lake: Path | None, spark_master: str) -> None:
    from pipelines.spark.build import session
    from pipelines.spark.ingest import ingest_on_spark

    if lake is None:
        raise UserError("ingest logs --engine spark needs --lake DIR")
    for load in ingest_on_spark(session(spark_master), lake, paths):
        if load.status == "skipped":
            out.print(f"{load.path}: loaded before (same sha256), skipped", highlight=False)
        else:
            out.print(
                f"{load.path}: load {load.load_id}: {load.rows_read} read, {load.rows_loaded} loaded, "
                f"{load.rows_rejected} rejected, {load.rows_duplicate} duplicate",
                highlight=False,
            )


PolicyOption = Annotated[
    Path | None,
    typer.Option(
        "--policy", help="Routing policy and budgets replacing the policy.yaml beside the catalog", metavar="PATH"
    ),
]


@ingest_app.command("billing")
def ingest_billing(
    paths: Annotated[
        list[str],
        typer.Argument(help="Files, directories or globs: .json .jsonl .csv .tsv .parquet, and .gz", metavar="PATH"),
    ],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Force the format: openai_costs, openai_usage, anthropic_cost_report, anthropic_usage_report, "
            "focus, openai_costs_csv (default: detected from the content)",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Load provider billing exports into raw.billing_lines / raw.billing_usage; bad rows go to raw.rejects."""
    from pipelines.ingest.billing.run import run_ingest_billing

    with new_progress() as progress:
        results, skipped = run_ingest_billing(db, paths, format, progress)
    out.print(load_summary(results))
    for result in results:
        if result.rows_replaced:
            out.print(f"{result.path.name}: restated {result.rows_replaced:,} earlier line(s)", highlight=False)
    for path in skipped:
        err.print(f"skipped {path}: not a known billing file type")
    failed = [r.error for r in results if r.error]
    if failed:
        raise UserError(" | ".join(failed))


@app.command()
def build(
    db: DbOption = None,
    prices: PricesOption = None,
    fx: Annotated[
        Path | None,
        typer.Option("--fx", help="Exchange rates replacing pricing/fx_rates.yaml", show_default=False, metavar="PATH"),
    ] = None,
    policy: PolicyOption = None,
    full: Annotated[
        bool,
        typer.Option("--full", help="Compute every model from scratch, not only what changed since the last build"),
    ] = False,
    engine: Annotated[
        Engine, typer.Option("--engine", help="duckdb: the warehouse file; spark: the lake (--lake) on Spark")
    ] = Engine.duckdb,
    lake: Annotated[
        str | None,
        typer.Option("--lake", help="The lake `lake export` wrote (a folder or s3a:// URL)", metavar="DIR"),
    ] = None,
    spark_master: Annotated[
        str, typer.Option("--spark-master", help="Spark master URL (spark://host:7077, yarn, local[4])")
    ] = "local[*]",
) -> None:
    """Load prices, build the SQL models in order (only what changed, unless --full), audit, publish the marts."""
    if engine is Engine.spark:
        _build_on_spark(db, lake, spark_master)
        return
    from pipelines.build import run_build
    from pipelines.fx import load_fx_rates
    from pipelines.policy import load_policy, policy_beside
    from pipelines.prices import build_price_book, published_source

    book = build_price_book(prices)  # a broken catalog stops here, before anything is built
    rates, _ = load_fx_rates(fx)  # and a broken rates file
    if book.catalog_path is None:
        err.print("no price catalog (pricing/catalog.yaml): published prices only, no model tiers", highlight=False)
    out.print(f"prices: {book.catalog_path or 'no team catalog'} over {published_source()}", highlight=False)
    policy_path = policy or policy_beside(book.catalog_path)
    rules = load_policy(policy_path)  # so is a broken policy
    out.print(f"policy: {policy_path or 'none (no policy.yaml beside the catalog)'}", highlight=False)
    out.print("building models")
    result = run_build(
        db, book, report_built, report_audit, fx_rates=rates, policy=rules, full=full, on_plan=report_plan
    )
    seconds = sum(a.seconds for a in result.audits)
    out.print(f"{len(result.audits)} audits passed in {seconds:.2f}s", highlight=False)
    out.print(f"published {result.snapshot} (build {result.build_id})", highlight=False)
    if result.unpriced_models:
        err.print(
            f"{result.unpriced_models} logged model(s) have no price: see `routeledger prices check`",
            highlight=False,
        )


def _build_on_spark(db: Path | None, lake: str | None, spark_master: str) -> None:
    from pipelines.spark.build import run_spark_build, session

    if not lake:
        raise UserError("build --engine spark needs --lake DIR (written by `routeledger lake export --to DIR`)")
    out.print(f"building models on Spark ({spark_master}) over the lake {lake}", highlight=False)
    result = run_spark_build(session(spark_master), lake, db, report_built, report_audit)
    seconds = sum(a.seconds for a in result.audits)
    out.print(f"{len(result.audits)} audits passed in {seconds:.2f}s", highlight=False)
    out.print(f"marts written to {lake.rstrip('/')}/marts/", highlight=False)
    out.print(f"published {result.snapshot} (build {result.build_id})", highlight=False)


@lake_app.command("export")
def lake_export(
    to: Annotated[Path, typer.Option("--to", help="The lake folder (raw/ inside is replaced)", metavar="DIR")],
    db: DbOption = None,
) -> None:
    """Write the warehouse's validated raw tables as Parquet (calls partitioned by day) for Spark."""
    from pipelines.spark.lake import export

    for exported in export(db, to):
        out.print(f"{exported.table}: {exported.rows:,} rows", highlight=False)
    out.print(f"wrote {to}/raw/ (prices and model map as of the last build)", highlight=False)


@app.command()
def audit(
    db: DbOption = None,
    build_only: Annotated[
        bool, typer.Option("--build-only", help="Only the audits every build runs (skip the heavy, on-demand ones)")
    ] = False,
) -> None:
    """Run the models' audits against the warehouse as it is (exit 1 if any finds offending rows)."""
    from pipelines import audits, models
    from pipelines.warehouse import Warehouse

    checks = audits.collect(models.discover(), on_build=build_only)
    with Warehouse.at(db).reader() as con:
        results = audits.run(con, checks, report_audit)
    out.print(f"{len(results)} audits passed in {sum(r.seconds for r in results):.2f}s", highlight=False)


def report_plan(line: str) -> None:
    out.print(line, highlight=False)


def report_built(built: Built) -> None:
    rows = f"{built.rows:,} rows" if built.rows is not None else "view"
    weeks = "" if built.weeks is None else f"  ({built.weeks} week{'s' if built.weeks != 1 else ''} computed again)"
    out.print(f"  {built.name:<40} {built.materialized:<5} {rows:>16} {built.seconds:8.2f}s{weeks}", highlight=False)


def report_audit(result: AuditResult) -> None:
    verdict = "ok" if result.passed else f"FAILED ({result.failing_rows:,} offending rows)"
    out.print(
        f"  audit {result.seconds:5.2f}s {verdict:<6} {result.audit.model}: {result.audit.name}",
        highlight=False,
        markup=False,
        overflow="ellipsis",
        no_wrap=True,
    )


@app.command()
def demo(
    db: DbOption = None,
    calls: Annotated[int, typer.Option(help="Model calls to generate over 12 weeks", min=1000)] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data")] = 7,
    no_app: Annotated[bool, typer.Option("--no-app", help="Stop after the build; do not start the app")] = False,
    prices: PricesOption = None,
    port: Annotated[int, typer.Option(help="Port of the app")] = 8501,
) -> None:
    """Generate 12 weeks of realistic routing logs, ingest them, build, and open the app."""
    from pipelines.demo.run import prepare
    from pipelines.warehouse import Warehouse

    warehouse = Warehouse.at(db)
    with err.status(f"generating {calls:,} calls of demo routing logs"):
        directory, generated = prepare(warehouse, calls, seed)
    out.print(f"demo logs {'written to' if generated else 'already in'} {directory}", highlight=False)
    # gateway/ and batch/ always; litellm/ and otel/ (the adapters' formats) in demos written since
    folders = [directory / name for name in ("gateway", "batch", "litellm", "otel")]
    ingest_logs([str(folder) for folder in folders if folder.exists()], db=db)
    # The demo's tiers and private model are priced by the project's own catalog, in a copy
    # dated to the demo's weeks (its negotiated price), beside the project's policy.
    if prices is None:
        from datetime import date

        from pipelines.demo.config import write_demo_pricing
        from pipelines.demo.run import MANIFEST

        end = date.fromisoformat(json.loads((directory / MANIFEST).read_text())["end"])
        prices = write_demo_pricing(directory, end)
    build(db=db, prices=prices)
    _demo_bills(warehouse, directory, db, prices)
    if not no_app:
        run_app(db=db, port=port)


@app.command()
def reconcile(
    db: DbOption = None,
    since: Annotated[
        datetime | None,
        typer.Option(help="Only days from this date (YYYY-MM-DD)", formats=["%Y-%m-%d"], metavar="DATE"),
    ] = None,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="table (worst rows first) or json (every row)")
    ] = ReportFormat.table,
    limit: Annotated[int, typer.Option(help="Rows shown in the table", min=1)] = 30,
) -> None:
    """Estimated vs billed per day, provider and model, worst first; exit 1 when any is out of tolerance."""
    from pipelines.reconcile import as_json, daily_table, monthly_table, read_reconciliation

    result = read_reconciliation(db, since.date() if since else None)
    if output_format is ReportFormat.json:
        out.print_json(as_json(result))
    elif not result.daily:
        out.print("nothing to reconcile: no billing lines cover the logged days (`routeledger ingest billing`)")
    else:
        out.print(daily_table(result.daily, limit))
        out.print(monthly_table(result.monthly))
    bad = result.out_of_tolerance
    if bad:
        err.print(
            f"{len(bad)} of {len(result.daily)} day-model rows out of tolerance (max(0.01 USD, 0.5% of billed))",
            highlight=False,
        )
        raise typer.Exit(1)
    if result.daily and output_format is ReportFormat.table:
        out.print(f"all {len(result.daily)} day-model rows within tolerance", highlight=False)


@export_app.command("focus")
def export_focus(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write: .parquet or .csv", metavar="FILE")],
    db: DbOption = None,
    since: Annotated[
        datetime | None,
        typer.Option(help="Only days from this date (YYYY-MM-DD)", formats=["%Y-%m-%d"], metavar="DATE"),
    ] = None,
) -> None:
    """Estimated costs as FOCUS 1.3 rows (per day, model, tags and token class), validated before written."""
    from pipelines.focus import FOCUS_VERSION
    from pipelines.focus import export_focus as write_focus

    written = write_focus(db, output, since.date() if since else None)
    out.print(f"wrote {written:,} FOCUS {FOCUS_VERSION} rows to {output} (validated)", highlight=False)


def _demo_bills(warehouse: Warehouse, directory: Path, db: Path | None, prices: Path) -> None:
    """The providers' bills for the demo's traffic, from its first build; ingested, then built again."""
    from pipelines.demo.billing import write_demo_bills

    bills = directory / "billing"
    if not bills.exists():
        with err.status("writing the providers' bills for the demo's traffic"):
            write_demo_bills(warehouse, directory)
    ingest_billing([str(bills)], db=db)
    build(db=db, prices=prices)


@app.command("app")
def run_app(
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="Port to serve on")] = 8501,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            "--address",
            help="Address to bind. The default keeps the app on this machine; any other needs OIDC login set up",
        ),
    ] = "127.0.0.1",
    no_auth: Annotated[
        bool,
        typer.Option("--no-auth", help="Serve another address without login: anyone who reaches it reads the data"),
    ] = False,
) -> None:
    """Serve the Streamlit app on the latest published snapshot (read-only)."""
    import os

    from pipelines import resources
    from pipelines.serve import auth_problem, is_loopback, secrets_files
    from pipelines.warehouse import Warehouse

    warehouse = Warehouse.at(db)
    main_script = resources.APP_DIR / "main.py"
    env = os.environ | {"ROUTELEDGER_DB": str(warehouse.path.resolve())}
    if not is_loopback(host):
        problem = auth_problem(secrets_files(main_script.parent.parent))
        if problem is None:
            env["ROUTELEDGER_REQUIRE_LOGIN"] = "1"  # every page asks for st.login first
        elif not no_auth:
            raise UserError(
                f"refusing to serve on {host} without login: {problem}. Set up OIDC login as the README's "
                "'Serving the app to a team' says, or pass --no-auth to serve it to anyone who can reach "
                f"{host}:{port}"
            )
        else:
            err.print(
                f"warning: --no-auth: anyone who can reach {host}:{port} reads every published mart "
                "(spend by team, route, model and user tier; sample actions call by call) without logging in",
                highlight=False,
            )
    # pipelines.serve runs Streamlit behind a check that refuses requests for other host names.
    command = [sys.executable, "-m", "pipelines.serve", "--address", host, "--port", str(port), str(main_script)]
    out.print(f"routeledger app on http://{host}:{port} (Ctrl-C to stop)", highlight=False)
    sys.stdout.flush()
    sys.stderr.flush()
    # Become the server, so signals (Ctrl-C, a supervisor's SIGTERM) reach it directly.
    os.chdir(main_script.parent.parent)
    os.execve(sys.executable, command, env)


@app.command()
def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write", metavar="FILE")],
    week: Annotated[
        str | None, typer.Option(help="ISO week (2026-W45) or a date in it; default: the last complete week")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html (self-contained, charts inline) or md")] = "html",
    db: DbOption = None,
) -> None:
    """Write one week's review (the app's Weekly review) as self-contained HTML or Markdown."""
    from pipelines.report import collect, parse_week, write

    if fmt not in ("html", "md"):
        raise UserError(f"--format {fmt}: expected html or md")
    review = collect(db, parse_week(week) if week else None)
    write(review, output, fmt)
    out.print(f"wrote the review of {review.week:%G-W%V} (build {review.build_id}) to {output}", highlight=False)


@prices_app.command("list")
def prices_list(
    provider: Annotated[str | None, typer.Option(help="Only this provider")] = None,
    model: Annotated[str | None, typer.Option(help="Only models whose id contains this")] = None,
    db: DbOption = None,
    prices: PricesOption = None,
) -> None:
    """Show effective-dated prices per 1M tokens: your catalog and the models your logs use.

    With their time-of-day windows, web-search fees, and the catalog's regional uplifts.

    With --provider or --model, any published model that matches.
    """
    from pipelines.build import models_in_use
    from pipelines.console import price_table, uplift_table
    from pipelines.prices import build_price_book

    book = build_price_book(prices)
    shown = {(m.provider, m.model) for m in book.catalog.models} | models_in_use(db, book)
    rows = [
        row
        for key, entry in sorted(book.models.items())
        if (provider or model or key in shown)
        and (provider is None or key[0] == provider.lower())
        and (model is None or model.lower() in key[1] or any(model.lower() in a for a in entry.aliases))
        for row in entry.rows
    ]
    if not rows:
        raise UserError("no price matches; try a shorter --model or another --provider")
    out.print(price_table(rows))
    uplifts = [u for u in book.catalog.regional_uplifts if provider is None or u.provider == provider.lower()]
    if uplifts:
        out.print(uplift_table(uplifts))
    if not (provider or model):
        out.print(
            f"{len(book.models) - len(shown):,} more published models from genai-prices: "
            "filter with --provider or --model to see them",
            highlight=False,
        )


@app.command()
def check(
    db: DbOption = None,
    week: Annotated[
        str | None,
        typer.Option(help="ISO week (2026-W45) or any date in it; default: the last complete week", metavar="WEEK"),
    ] = None,
    format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """A week's policy violations, cost regressions and budget breaches (exit 1 on any breach)."""
    from datetime import UTC, datetime

    from pipelines.check import as_json, as_table, findings, last_complete_week, parse_week
    from pipelines.warehouse import Warehouse

    if format not in ("table", "json"):
        raise UserError(f"--format {format!r}: expected table or json")
    with Warehouse.at(db).reader() as con:
        monday = parse_week(week) if week else last_complete_week(con, datetime.now(UTC).date())
        if monday is None:
            raise UserError("no complete week with data to check; give --week")
        found = findings(con, monday)
    if format == "json":
        out.print_json(as_json(monday, found))
    else:
        out.print(as_table(monday, found))
    if any(f.severity == "breach" for f in found):
        raise typer.Exit(1)


@app.command()
def whatif(
    db: DbOption = None,
    week: Annotated[
        str | None,
        typer.Option(help="ISO week (2026-W45) or any date in it; default: the last complete week", metavar="WEEK"),
    ] = None,
    prices: PricesOption = None,
    remap: Annotated[
        list[str] | None,
        typer.Option(
            help="Send a route's calls to another model, tokens kept (repeatable)", metavar="ROUTE=PROVIDER/MODEL"
        ),
    ] = None,
    format: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
) -> None:
    """Re-price a week's real calls under another catalog or routing map, per route against the actual."""
    from datetime import UTC, datetime

    from pipelines.check import last_complete_week, parse_week
    from pipelines.prices import build_price_book
    from pipelines.warehouse import Warehouse
    from pipelines.whatif import NOT_SIMULATED, as_csv, as_table, built_catalog, parse_remap, run_whatif

    if format not in ("table", "csv"):
        raise UserError(f"--format {format!r}: expected table or csv")
    remaps = [parse_remap(text) for text in remap or []]
    # without --prices, the catalog the last build priced with (the demo's dated copy), else the default
    book = build_price_book(prices or built_catalog(db))
    if week:
        monday = parse_week(week)
    else:
        with Warehouse.at(db).reader() as con:
            monday = last_complete_week(con, datetime.now(UTC).date())
        if monday is None:
            raise UserError("no complete week with data; give --week")
    rows = run_whatif(db, monday, book, remaps)
    what = ", ".join(
        [f"prices {book.catalog_path or 'published only'}", *(f"{r.route} -> {r.provider}/{r.model}" for r in remaps)]
    )
    if format == "csv":
        out.file.write(as_csv(rows))
        err.print(NOT_SIMULATED, highlight=False)
    else:
        out.print(as_table(monday, rows, what))


@prices_app.command("check")
def prices_check(db: DbOption = None, prices: PricesOption = None) -> None:
    """Validate the catalog, then list logged models with no price at their time (exit 1 if any).

    Model names billing exports use that resolve to no priced model are listed too; they
    do not fail the check (a bill may name models the team's routing does not use).
    """
    from pipelines.build import health_findings
    from pipelines.console import unmapped_billed_table, unpriced_table
    from pipelines.prices import build_price_book
    from pipelines.warehouse import Warehouse

    book = build_price_book(prices)
    where = book.catalog_path or "no team catalog"
    out.print(f"catalog ok: {where}, {len(book.catalog.models)} entries; {len(book.models):,} priced models")
    if not Warehouse.at(db).path.exists():
        out.print(f"no warehouse at {Warehouse.at(db).path} yet: nothing logged to check", highlight=False)
        return
    findings = health_findings(db, book)
    if findings["unmapped billing names"]:
        out.print(unmapped_billed_table(findings["unmapped billing names"]))
    missing = findings["unpriced calls"]
    if not missing:
        out.print("every logged call has a price at its time")
        return
    out.print(unpriced_table(missing))
    raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except UserError as exc:
        err.print(f"routeledger: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except CheckFailed as exc:
        err.print(f"routeledger: {exc}", markup=False, highlight=False, soft_wrap=True)
        for table in failure_tables(exc):
            err.print(table)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("routeledger: interrupted; nothing half-done was kept", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()

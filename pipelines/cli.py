"""The `routeledger` command line: parse arguments, call one function per command.

Exit codes: 0 success (rejected rows included), 1 a failed check, 2 bad usage or
bad input, with a one-line reason on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.console import err, failure_tables, load_summary, new_progress, out
from pipelines.errors import CheckFailed, UserError
from pipelines.models import Built

if TYPE_CHECKING:
    from pipelines.audits import AuditResult

app = typer.Typer(
    name="routeledger",
    help="FinOps cost analytics for routed LLM traffic.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(help="Load input files into the warehouse.", no_args_is_help=True)
prices_app = typer.Typer(help="Show and check the price catalog.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(prices_app, name="prices")


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
PricesOption = Annotated[
    Path | None,
    typer.Option("--prices", help="Price catalog replacing pricing/catalog.yaml", show_default=False, metavar="PATH"),
]


@ingest_app.command("logs")
def ingest_logs(
    paths: Annotated[
        list[str],
        typer.Argument(help="Files, directories or globs: .jsonl .ndjson .csv .parquet, and .gz/.zst", metavar="PATH"),
    ],
    db: DbOption = None,
) -> None:
    """Load canonical routing logs into raw.calls; bad rows go to raw.rejects."""
    from pipelines.ingest.logs import run_ingest_logs

    with new_progress() as progress:
        results, skipped = run_ingest_logs(db, paths, progress)
    out.print(load_summary(results))
    for path in skipped:
        err.print(f"skipped {path}: not a known log format")
    failed = [r.error for r in results if r.error]
    if failed:  # after every other file loaded and the summary printed
        raise UserError(" | ".join(failed))


@app.command()
def build(db: DbOption = None, prices: PricesOption = None) -> None:
    """Load prices, build every SQL model in order, audit them, publish the marts for readers."""
    from pipelines.build import run_build
    from pipelines.prices import build_price_book, published_source

    book = build_price_book(prices)  # a broken catalog stops here, before anything is built
    if book.catalog_path is None:
        err.print("no price catalog (pricing/catalog.yaml): published prices only, no model tiers", highlight=False)
    out.print(f"prices: {book.catalog_path or 'no team catalog'} over {published_source()}", highlight=False)
    out.print("building models")
    result = run_build(db, book, report_built, report_audit)
    seconds = sum(a.seconds for a in result.audits)
    out.print(f"{len(result.audits)} audits passed in {seconds:.2f}s", highlight=False)
    out.print(f"published {result.snapshot} (build {result.build_id})", highlight=False)
    if result.unpriced_models:
        err.print(
            f"{result.unpriced_models} logged model(s) have no price: see `routeledger prices check`",
            highlight=False,
        )


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


def report_built(built: Built) -> None:
    rows = f"{built.rows:,} rows" if built.rows is not None else "view"
    out.print(f"  {built.name:<40} {built.materialized:<5} {rows:>16} {built.seconds:8.2f}s", highlight=False)


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
    from pipelines.prices.catalog import PROJECT_CATALOG
    from pipelines.warehouse import Warehouse

    warehouse = Warehouse.at(db)
    with err.status(f"generating {calls:,} calls of demo routing logs"):
        directory, generated = prepare(warehouse, calls, seed)
    out.print(f"demo logs {'written to' if generated else 'already in'} {directory}", highlight=False)
    ingest_logs([str(directory / "gateway"), str(directory / "batch")], db=db)
    # The demo's tiers and private model are priced by the project's own catalog.
    build(db=db, prices=prices or PROJECT_CATALOG)
    if not no_app:
        run_app(db=db, port=port)


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

    With --provider or --model, any published model that matches.
    """
    from pipelines.build import models_in_use
    from pipelines.console import price_table
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
    if not (provider or model):
        out.print(
            f"{len(book.models) - len(shown):,} more published models from genai-prices: "
            "filter with --provider or --model to see them",
            highlight=False,
        )


@prices_app.command("check")
def prices_check(db: DbOption = None, prices: PricesOption = None) -> None:
    """Validate the catalog, then list logged models with no price at their time (exit 1 if any)."""
    from pipelines.build import unpriced_calls
    from pipelines.console import unpriced_table
    from pipelines.prices import build_price_book
    from pipelines.warehouse import Warehouse

    book = build_price_book(prices)
    where = book.catalog_path or "no team catalog"
    out.print(f"catalog ok: {where}, {len(book.catalog.models)} entries; {len(book.models):,} priced models")
    if not Warehouse.at(db).path.exists():
        out.print(f"no warehouse at {Warehouse.at(db).path} yet: nothing logged to check", highlight=False)
        return
    missing = unpriced_calls(db, book)
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

"""The package as users install it: the built wheel, in a fresh venv outside the repository.

A checkout finds the SQL models, the app and the team's catalog in its top-level folders;
an installed wheel must carry them (pipelines/_bundled/). The fresh venv gets the wheel
and nothing else: a .pth file lends it the dev venv's site-packages for the dependencies,
so nothing is downloaded, while `pipelines` itself can only come from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines import resources
from pipelines.cli import app
from pipelines.warehouse import Warehouse
from tests.conftest import ROOT, call, write_jsonl

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# What the wheel must carry under pipelines/_bundled/: the checkout's own files, by path.
BUNDLED = [
    *(ROOT / "sql").rglob("*.sql"),
    *(ROOT / "app").rglob("*.py"),
    ROOT / "pricing" / "catalog.yaml",
    ROOT / "pricing" / "policy.yaml",
    ROOT / ".streamlit" / "config.toml",
]


def test_version_comes_from_the_package_metadata():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"routeledger {VERSION}\n"


def test_a_checkout_uses_the_repository_folders():
    assert resources.SQL_DIR == ROOT / "sql"
    assert resources.APP_DIR == ROOT / "app"
    assert resources.PROJECT_CATALOG == ROOT / "pricing" / "catalog.yaml"


def pip(*args: str | Path) -> None:
    """The dev venv's pip, offline: everything it needs is here already."""
    command = [sys.executable, "-m", "pip", *map(str, args), "--quiet", "--no-deps", "--no-index"]
    subprocess.run(command, check=True, capture_output=True)


def build_wheel(tmp_path: Path) -> Path:
    """The wheel of a copy of the checkout, so that the build leaves nothing in the repository."""
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "data", "bench", "tests", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
        ),
    )
    pip("wheel", "--no-build-isolation", "--wheel-dir", tmp_path / "dist", source)
    (wheel,) = (tmp_path / "dist").glob("routeledger-*.whl")
    return wheel


def fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip("--python", python, "install", wheel)
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "routeledger_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


@pytest.mark.slow
def test_the_wheel_installed_outside_the_repository_ingests_builds_and_serves(tmp_path):
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [str(p.relative_to(ROOT)) for p in BUNDLED if f"pipelines/_bundled/{p.relative_to(ROOT)}" not in names]
    missing += [
        str(p.relative_to(ROOT))
        for p in (ROOT / "pipelines").rglob("*.py")
        if str(p.relative_to(ROOT)) not in names and "__pycache__" not in p.parts
    ]
    assert missing == []

    venv = fresh_venv(tmp_path, wheel)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ROUTELEDGER_DB", "VIRTUAL_ENV")}
    env["COLUMNS"] = "200"

    def run(*command: str | Path) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(c) for c in command], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        return result

    routeledger = venv / "bin" / "routeledger"
    python = venv / "bin" / "python"
    imported = run(python, "-c", "import pipelines, pipelines.resources as r; print(pipelines.__file__, r.SQL_DIR)")
    assert imported.stdout.startswith(str(venv)) and str(ROOT) not in imported.stdout

    # acme-faq-ft-v2 is priced only by the project's catalog (0.30 in / 0.90 out per 1M from 2026-06-01):
    #   c1 1000/100 = (300 + 90) / 1e6 = 0.00039;  c2 2000/200 = (600 + 180) / 1e6 = 0.00078
    #   week of Monday 2026-06-01, support_faq: 2 actions, both completed, cost 0.00117, per completed 0.000585
    logs = write_jsonl(
        work / "logs" / "calls.jsonl",
        [
            call("c1", "a1", "2026-06-03T10:00:00Z", provider="mistral", model="acme-faq-ft-v2"),
            call(
                "c2", "a2", "2026-06-04T10:00:00Z", provider="mistral", model="acme-faq-ft-v2",
                input_tokens=2000, output_tokens=200,
            ),
        ],
    )  # fmt: skip
    run(routeledger, "ingest", "logs", logs)
    build = run(routeledger, "build")
    assert str(venv / "lib") in build.stdout  # the bundled catalog priced the build

    db = work / "data" / "warehouse.duckdb"
    marts = {path.stem for path in (ROOT / "sql" / "marts").glob("*.sql")}
    with duckdb.connect(str(db), read_only=True) as con:
        query = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"  # tables and views
        built = {row[0] for row in con.execute(query).fetchall()}
    assert built == marts
    with duckdb.connect(str(Warehouse.at(db).current_snapshot()), read_only=True) as con:
        rows = con.execute(
            "SELECT week::VARCHAR, route, actions, completed_actions, cost_usd, cost_per_completed_action_usd "
            "FROM marts.route_weekly"
        ).fetchall()
    assert rows == [("2026-06-01", "support_faq", 2, 2, Decimal("0.00117"), Decimal("0.000585"))]

    assert "Serve the Streamlit app" in run(routeledger, "app", "--help").stdout
    assert run(routeledger, "--version").stdout == f"routeledger {VERSION}\n"

    # The bundled app, run by Streamlit's AppTest in the fresh venv: its pages import `app` from the bundle.
    env["ROUTELEDGER_DB"] = str(db)
    page = run(
        python,
        "-c",
        "import sys; from streamlit.testing.v1 import AppTest; from pipelines import resources\n"
        "at = AppTest.from_file(str(resources.APP_DIR / 'main.py'), default_timeout=60).run()\n"
        "assert not at.exception, [e.message for e in at.exception]\n"
        "print(sys.modules['app.data'].__file__, at.title[0].value, at.dataframe[0].value['route'].to_list())",
    )
    assert page.stdout.startswith(str(venv))
    assert page.stdout.rstrip().endswith("Weekly review ['support_faq']")

"""`routeledger demo`: generate the demo's logs, ingest them, build, (then the CLI starts the app).

The demo lives beside the warehouse (`data/demo/`). Its files are regenerated only when
the parameters change (a manifest records them), so running `make demo` again reuses
them and ingest reports them as already loaded. The demo never mixes with real data:
it refuses a warehouse that holds files from elsewhere.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from pipelines.errors import UserError
from pipelines.warehouse import Warehouse

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class DemoSpec:
    calls: int
    seed: int
    end: str  # ISO date of the last day of the last week


def demo_dir(warehouse: Warehouse) -> Path:
    return warehouse.path.parent / "demo"


def prepare(warehouse: Warehouse, calls: int, seed: int, end: date | None = None) -> tuple[Path, bool]:
    """Write the demo's log files unless the same demo is there already.

    Returns the directory and whether files were (re)generated. A regenerated demo
    starts from an empty warehouse, so no stale demo rows stay behind.
    """
    from pipelines.demo.files import write_demo
    from pipelines.demo.generator import default_end

    spec = DemoSpec(calls, seed, (end or default_end()).isoformat())
    directory = demo_dir(warehouse)
    _refuse_foreign_data(warehouse, directory)
    manifest = directory / MANIFEST
    if manifest.exists() and json.loads(manifest.read_text()) == asdict(spec):
        return directory, False
    warehouse.drop("demo")
    if directory.exists():
        shutil.rmtree(directory)
    write_demo(directory, n_calls=calls, seed=seed, end=date.fromisoformat(spec.end), adapter_logs=True)
    manifest.write_text(json.dumps(asdict(spec)) + "\n")
    return directory, True


def _refuse_foreign_data(warehouse: Warehouse, directory: Path) -> None:
    if not warehouse.path.exists():
        return
    prefix = str(directory.resolve()) + "/"
    with warehouse.reader() as con:
        exists = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = 'loads'"
        ).fetchone()[0]
        foreign = (
            con.execute("SELECT count(*) FROM raw.loads WHERE NOT starts_with(source_path, ?)", [prefix]).fetchone()[0]
            if exists
            else 0
        )
    if foreign:
        raise UserError(
            f"{warehouse.path} holds {foreign} loaded file(s) that are not the demo's; "
            "run the demo with --db data/demo.duckdb (or another path) to keep them apart"
        )

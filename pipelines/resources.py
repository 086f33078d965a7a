"""Where the project's own files are: the SQL models, the app and the team's price catalog.

In a checkout (or an editable install) they are the repository's top-level `sql/`, `app/`
and `pricing/`, the project's contract. An installed wheel has no repository around it, so
it carries copies laid out the same way under `pipelines/_bundled/` (pyproject.toml maps
them there); their presence is what tells the two apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_BUNDLED = Path(__file__).resolve().parent / "_bundled"
PROJECT_ROOT = _BUNDLED if _BUNDLED.is_dir() else Path(__file__).resolve().parent.parent

SQL_DIR = PROJECT_ROOT / "sql"
APP_DIR = PROJECT_ROOT / "app"
PROJECT_CATALOG = PROJECT_ROOT / "pricing" / "catalog.yaml"


def load_yaml(text: str) -> Any:
    """Safe YAML, parsed by libyaml when PyYAML has it: the models' headers and column specs
    are read on every build, and the pure-Python parser took a second of it."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

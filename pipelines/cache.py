"""Small JSON files under the user's cache directory: shortcuts a build may take, never facts.

$XDG_CACHE_HOME/routeledger/, else ~/.cache/routeledger/. Unreadable, unwritable or
damaged, a cache reads as empty and is not written: the caller computes what it needed.
Writes are atomic (a concurrent reader sees the old file or the new one).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Any


def cache_file(name: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "routeledger" / name


def read(name: str) -> Any:
    """The JSON value stored under `name`, or None."""
    try:
        return json.loads(cache_file(name).read_text())
    except (OSError, ValueError):
        return None


def write(name: str, value: Any) -> None:
    target = cache_file(name)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(value))
        partial.replace(target)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()

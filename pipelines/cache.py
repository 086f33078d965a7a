"""Small files under the user's cache directory: shortcuts a build may take, never facts.

$XDG_CACHE_HOME/routeledger/, else ~/.cache/routeledger/. Unreadable, unwritable or
damaged, a cache reads as empty and is not written: the caller computes what it needed.
Writes are atomic (a concurrent reader sees the old file or the new one).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import uuid
from pathlib import Path
from typing import Any


def cache_file(name: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "routeledger" / name


def code_key(version: str, *sources: str | Path) -> str:
    """The sha256 of `version` and the source files of the code a cached value came from:
    a new version or an edited file makes every value stored under the old key unknown."""
    digest = hashlib.sha256(f"{version}\n".encode())
    for source in sources:
        digest.update(Path(source).read_bytes())
    return digest.hexdigest()


def read(name: str) -> Any:
    """The JSON value stored under `name`, or None."""
    try:
        return json.loads(cache_file(name).read_text())
    except (OSError, ValueError):
        return None


def write(name: str, value: Any) -> None:
    """Store `value` as JSON under `name`."""
    _write_bytes(name, json.dumps(value).encode())


def read_objects(name: str, key: str) -> Any:
    """The Python objects `write_objects` stored under `name` with the same `key`, or None.

    For values JSON cannot hold (dataclasses of Decimals and datetimes) that routeledger
    derives from installed code: the key names that code's version, and the file lives in
    the user's own cache directory, as trusted as their environment.
    """
    try:
        stored_key, value = pickle.loads(cache_file(name).read_bytes())
    except Exception:  # a damaged or foreign file reads as empty, whatever unpickling raised
        return None
    return value if stored_key == key else None


def write_objects(name: str, key: str, value: Any) -> None:
    _write_bytes(name, pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL))


def _write_bytes(name: str, data: bytes) -> None:
    target = cache_file(name)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        partial.replace(target)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()

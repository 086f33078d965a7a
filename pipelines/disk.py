"""Disk a warehouse needs, and a check that stops a large job before it starts when the disk is short.

Kept apart from `warehouse.py` so that a caller can check before it imports DuckDB (the
benchmark's parent process stays small: its children inherit its peak memory).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pipelines.errors import UserError

# Disk a warehouse takes per call once built (raw.calls, the tables the build keeps), measured
# at 10M calls: 263 bytes after an ingest, a full build and an incremental one, with room for
# DuckDB's free blocks (each `build --full` leaves some: 450 bytes after several); and the
# share more that DuckDB may spill to `<warehouse>.tmp/` while a build runs.
WAREHOUSE_BYTES_PER_CALL = 300
SPILL_MARGIN = 0.25


def warehouse_bytes(calls: int) -> int:
    """The disk a warehouse of `calls` calls needs while it is built, spill included (an estimate)."""
    return int(calls * WAREHOUSE_BYTES_PER_CALL * (1 + SPILL_MARGIN))


def check_free_disk(where: Path, needed: int, what: str) -> None:
    """Stop before `what` starts when the disk holding `where` has less than `needed` bytes free."""
    folder = Path(where)
    while not folder.exists() and folder != folder.parent:  # the nearest folder that exists
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise UserError(
            f"{what} needs about {_gb(needed)} of disk on {folder}, and {_gb(free)} are free: "
            "free some space or choose another folder"
        )


def _gb(size: int) -> str:
    return f"{size / 1e9:,.1f} GB"

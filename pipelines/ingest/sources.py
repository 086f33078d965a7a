"""Turn the paths a user typed into input files: expand directories and globs, name formats."""

from __future__ import annotations

import glob
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import UserError

# suffix -> (format, compression)
FORMATS = {
    ".jsonl": ("jsonl", None),
    ".ndjson": ("jsonl", None),
    ".csv": ("csv", None),
    ".parquet": ("parquet", None),
    ".jsonl.gz": ("jsonl", "gzip"),
    ".ndjson.gz": ("jsonl", "gzip"),
    ".csv.gz": ("csv", "gzip"),
    ".jsonl.zst": ("jsonl", "zstd"),
    ".ndjson.zst": ("jsonl", "zstd"),
    ".csv.zst": ("csv", "zstd"),
    # OTLP/JSON trace exports (pipelines/ingest/adapters/otel.py)
    ".json": ("json", None),
    ".json.gz": ("json", "gzip"),
}


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute
    format: str  # jsonl | csv | parquet | json (an OTLP/JSON export)
    compression: str | None
    size_bytes: int

    @property
    def label(self) -> str:
        return self.format + (f".{'gz' if self.compression == 'gzip' else 'zst'}" if self.compression else "")


def detect_format(path: Path, formats: dict[str, tuple[str, str | None]] = FORMATS) -> tuple[str, str | None] | None:
    name = path.name.lower()
    for suffix in sorted(formats, key=len, reverse=True):
        if name.endswith(suffix):
            return formats[suffix]
    return None


def expand(
    paths: list[str], formats: dict[str, tuple[str, str | None]] = FORMATS
) -> tuple[list[SourceFile], list[Path]]:
    """The files to load, in a stable order, and the files skipped for an unknown format.

    A file named directly must exist and have a known format; a directory or glob
    contributes the files of known formats it holds, and reports the others.
    """
    files: dict[Path, SourceFile] = {}
    skipped: list[Path] = []
    for given in paths:
        # An existing path is a file before it is a glob: `calls[1].jsonl` names itself.
        if any(ch in given for ch in "*?[") and not Path(given).expanduser().exists():
            matches = sorted(Path(p) for p in glob.glob(given, recursive=True))
            if not matches:
                raise UserError(f"{given}: no file matches this pattern")
            candidates, named = [m for m in matches if m.is_file()], False
        else:
            path = Path(given).expanduser()
            if not path.exists():
                raise UserError(f"{given}: no such file or directory")
            if path.is_dir():
                candidates = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path))
                named = False
            else:
                candidates, named = [path], True
        for candidate in candidates:
            detected = detect_format(candidate, formats)
            if detected is None:
                if named:
                    known = ", ".join(sorted(formats))
                    raise UserError(f"{given}: unknown format (expected one of {known})")
                skipped.append(candidate)
                continue
            resolved = candidate.resolve()
            files[resolved] = SourceFile(resolved, detected[0], detected[1], resolved.stat().st_size)
    return list(files.values()), skipped


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


class Sha256:
    """The sha256 of a file, computed on a thread so it overlaps the load.

    hashlib releases the GIL on large buffers, so the hash runs beside DuckDB's own
    threads instead of before them.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"sha256:{path.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            digest = hashlib.sha256()
            with open(self._path, "rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
            self._digest = digest.hexdigest()
        except BaseException as exc:  # re-raised in result()
            self._error = exc

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._digest is not None
        return self._digest

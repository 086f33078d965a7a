"""The bytes of a text log before the checked path reads it: line endings, over-long lines, line counts.

DuckDB's readers stop at a file that mixes LF and CRLF endings, split a line at a lone CR,
and drop a line longer than their buffer without a word. One pass over the bytes finds
whether any of that can happen; if so, the reader gets a temporary copy that reads the same
lines under the same numbers:

- CRLF becomes LF. In JSON lines a lone CR (never valid inside a JSON string) becomes \\x01,
  which the line reader refuses as that line's own fault. In a CSV a lone CR inside quotes
  stays data, and outside quotes it ends the line, as in Python's csv module and Excel.
- A line longer than MAX_LINE_BYTES (its line ending not counted) becomes a placeholder the
  reader refuses, and its number and length are kept, so it is rejected naming them and
  none of its text is read.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from pipelines.errors import UserError
from pipelines.ingest.sources import SourceFile

MAX_LINE_BYTES = 16 << 20
# Smaller than the limit, so that a line lying whole inside one block is never over it.
CHUNK_BYTES = 1 << 22
NEWLINE = ord("\n")


@dataclass(frozen=True)
class Readable:
    source: SourceFile  # the file itself, or its copy
    lines: int  # physical lines of what the reader reads, a last line without its newline included
    over_limit: dict[int, int] = field(default_factory=dict)  # line number -> its length in bytes


@contextlib.contextmanager
def readable(source: SourceFile, placeholder: bytes) -> Iterator[Readable]:
    """The file as DuckDB can read it; `placeholder` is a line the reader refuses."""
    with _read_errors(source):
        lines, has_cr, longest = _scan(source)
    if not has_cr and longest <= MAX_LINE_BYTES:
        yield Readable(source, lines)
        return
    handle, name = tempfile.mkstemp(prefix="routeledger-", suffix="." + source.format)
    try:
        with _read_errors(source), os.fdopen(handle, "wb") as out, open_bytes(source) as data:
            copier = _Copier(out, placeholder)
            endings = _JsonLineEndings() if source.format == "jsonl" else _CsvLineEndings()
            while block := data.read(CHUNK_BYTES):
                copier.feed(endings.feed(block))
            copier.feed(endings.close())
            copier.close()
        yield Readable(replace(source, path=Path(name), compression=None), copier.line - 1, copier.over_limit)
    finally:
        os.unlink(name)


def header_line(source: SourceFile) -> str:
    """The first line that is not blank, decoded.

    Read here rather than by DuckDB, whose line reader fails on an over-long line anywhere
    in its first buffer: the header is all `inspect` needs.
    """
    held = bytearray()
    with _read_errors(source), open_bytes(source) as data:
        while True:
            block = data.read(1 << 16)
            if block and b"\n" not in block and b"\r" not in block:
                held += block
                if len(held) > MAX_LINE_BYTES:
                    raise UserError(f"{source.path}: the first line is over the {MAX_LINE_BYTES}-byte limit")
                continue
            *complete, rest = re.split(rb"\r\n|\r|\n", bytes(held + block))
            for line in complete if block else [*complete, rest]:
                if line.strip():
                    return line.decode("utf-8")
            if not block:
                return ""
            held = bytearray(rest)


@contextlib.contextmanager
def _read_errors(source: SourceFile) -> Iterator[None]:
    """A file that cannot be read or decompressed is a one-line error naming it."""
    try:
        yield
    except (OSError, EOFError, ValueError) as exc:  # UnicodeDecodeError and pyarrow's ArrowInvalid are ValueErrors
        raise UserError(f"{source.path}: cannot read as {source.label}: {exc}") from exc


def open_bytes(source: SourceFile) -> BinaryIO:
    """The file's text bytes, decompressed (Python has no zstd before 3.14; pyarrow does)."""
    if source.compression == "gzip":
        return gzip.open(source.path, "rb")
    if source.compression == "zstd":
        return pa.input_stream(str(source.path), compression="zstd")
    return open(source.path, "rb")


def pick_lines(source: SourceFile, wanted: list[int]) -> dict[int, bytes]:
    """The bytes of the lines numbered `wanted` (1-based), without their line endings.

    One pass over the bytes that only counts newlines, except in the blocks holding a
    wanted line, whose newlines numpy finds: the wanted lines are sliced out, and no other
    line becomes a Python object, so 1% of the rows of a large file cost little more than a few.
    """
    numbers = sorted(set(wanted))
    found: dict[int, bytes] = {}
    i, line, held = 0, 1, b""  # the next wanted number; the number of the first line in `held`
    with _read_errors(source), open_bytes(source) as data:
        while i < len(numbers) and (block := data.read(CHUNK_BYTES)):
            block = held + block
            end = block.rfind(b"\n")
            if end < 0:
                held = block
                continue
            complete, held = block[:end], block[end + 1 :]
            count = complete.count(b"\n") + 1
            if numbers[i] < line + count:
                ends = np.flatnonzero(np.frombuffer(complete, dtype=np.uint8) == NEWLINE)
                while i < len(numbers) and numbers[i] < line + count:
                    k = numbers[i] - line  # the wanted line's index in the block
                    start = 0 if k == 0 else int(ends[k - 1]) + 1
                    found[numbers[i]] = complete[start : int(ends[k]) if k < len(ends) else len(complete)]
                    i += 1
            line += count
        if held and i < len(numbers) and numbers[i] == line:
            found[line] = held
    return found


def _scan(source: SourceFile) -> tuple[int, bool, int]:
    """(physical lines, whether any CR occurs, an upper bound of the longest line when it is over the limit)."""
    lines, has_cr, longest, run, last = 0, False, 0, 0, b"\n"
    with open_bytes(source) as data:
        while block := data.read(CHUNK_BYTES):
            lines += block.count(b"\n")
            has_cr = has_cr or b"\r" in block
            first = block.find(b"\n")
            if first < 0:
                run += len(block)
            else:
                # Only the lines crossing a block's edges can be over the limit.
                longest = max(longest, run + first)
                run = len(block) - block.rfind(b"\n") - 1
            longest = max(longest, run)
            last = block[-1:]
    return lines + (last != b"\n"), has_cr, longest


class _JsonLineEndings:
    """CRLF to LF; a lone CR to \\x01. A CR ending a block waits for the next one."""

    def __init__(self) -> None:
        self.held = b""

    def feed(self, block: bytes) -> bytes:
        block = self.held + block
        self.held = b"\r" if block.endswith(b"\r") else b""
        return self._convert(block[: len(block) - len(self.held)].replace(b"\r\n", b"\n"))

    def close(self) -> bytes:
        return self._convert(self.held)

    def _convert(self, block: bytes) -> bytes:
        return block.replace(b"\r", b"\x01")


class _CsvLineEndings(_JsonLineEndings):
    """CRLF to LF; a lone CR outside quotes to LF. `"` both quotes and escapes, so the
    parity of the quotes before a CR says whether it lies inside a quoted value."""

    def __init__(self) -> None:
        super().__init__()
        self.quoted = False

    def _convert(self, block: bytes) -> bytes:
        if b"\r" not in block:
            self.quoted ^= block.count(b'"') % 2 == 1
            return block
        out, start = bytearray(), 0
        while (cr := block.find(b"\r", start)) >= 0:
            self.quoted ^= block.count(b'"', start, cr) % 2 == 1
            out += block[start:cr] + (b"\r" if self.quoted else b"\n")
            start = cr + 1
        self.quoted ^= block.count(b'"', start) % 2 == 1
        return bytes(out + block[start:])


class _Copier:
    """Writes LF-ended blocks, a line over the limit replaced by the placeholder."""

    def __init__(self, out: BinaryIO, placeholder: bytes) -> None:
        self.out, self.placeholder = out, placeholder
        self.line = 1  # the number of the line being written
        self.pending = bytearray()  # its bytes so far, while it is within the limit
        self.length = 0
        self.over_limit: dict[int, int] = {}

    def feed(self, block: bytes) -> None:
        first = block.find(b"\n")
        if first < 0:
            self._extend(block)
            return
        self._extend(block[:first])
        self._end_line(b"\n")
        last = block.rfind(b"\n")
        # Whole lines inside the block: each shorter than a block, so within the limit.
        self.out.write(block[first + 1 : last + 1])
        self.line += block.count(b"\n", first + 1, last + 1)
        self._extend(block[last + 1 :])

    def close(self) -> None:
        if self.length:
            self._end_line(b"")

    def _extend(self, part: bytes) -> None:
        self.length += len(part)
        if self.length <= MAX_LINE_BYTES:
            self.pending += part
        else:
            self.pending.clear()

    def _end_line(self, newline: bytes) -> None:
        if self.length > MAX_LINE_BYTES:
            self.over_limit[self.line] = self.length
            self.out.write(self.placeholder)
        else:
            self.out.write(self.pending)
        self.out.write(newline)
        self.line += 1
        self.pending.clear()
        self.length = 0

"""The README's generated tables: the routing-log field rules and each mart's columns.

    python -m pipelines.docs          rewrite README.md's generated blocks in place
    python -m pipelines.docs --check  exit 1 when README.md is out of date (the tests do this)

A generated block sits between `<!-- NAME:begin -->` and `<!-- NAME:end -->` markers:
`fields` for the field rules (pipelines/ingest/fields.py), `adapter:X` for a log
adapter's field mapping (pipelines/ingest/adapters/X.py), `columns:marts.X` for a
mart's column spec (sql/marts/X.yml).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pipelines import columns, models
from pipelines.ingest import adapters
from pipelines.ingest.fields import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"<!-- (?P<name>[\w:.]+):begin -->\n(?P<body>.*?)<!-- (?P=name):end -->", re.S)


def generated() -> dict[str, str]:
    """Every generated block by name."""
    blocks = {"fields": markdown_table(), **adapters.markdown_tables()}
    for model in models.discover():
        if model.columns:
            blocks[f"columns:{model.name}"] = columns.readme_table(model.columns)
    return blocks


def render(text: str) -> str:
    """`text` with every generated block replaced by its current content."""
    blocks = generated()

    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in blocks:
            return match.group(0)
        return f"<!-- {name}:begin -->\n{blocks[name]}\n<!-- {name}:end -->"

    return BLOCK.sub(replace, text)


def missing_blocks(text: str) -> list[str]:
    """Generated blocks that have no markers in `text`."""
    present = {m.group("name") for m in BLOCK.finditer(text)}
    return sorted(set(generated()) - present)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = README.read_text(encoding="utf-8")
    fresh = render(text)
    if "--check" in argv:
        stale = fresh != text or missing_blocks(text)
        if stale:
            print("README.md's generated tables are out of date: run python -m pipelines.docs", file=sys.stderr)
        return 1 if stale else 0
    README.write_text(fresh, encoding="utf-8")
    for name in missing_blocks(text):
        print(f"README.md has no <!-- {name}:begin --> block; add one where it belongs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The README documents what the code does: the field rules come from the same source."""

from __future__ import annotations

import re

from pipelines.ingest.fields import markdown_table
from tests.conftest import ROOT


def test_readme_field_table_is_the_validation_rules():
    readme = (ROOT / "README.md").read_text()
    documented = re.search(r"<!-- fields:begin -->\n(.*?)\n<!-- fields:end -->", readme, re.S)
    assert documented, "README.md lost its field table markers"
    assert documented.group(1) == markdown_table(), (
        "regenerate the table: python -c 'from pipelines.ingest.fields import markdown_table; print(markdown_table())'"
    )


def test_readme_shows_the_two_commands_and_ci_runs_the_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()

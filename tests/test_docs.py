"""The README documents what the code does: its tables are generated from the same sources."""

from __future__ import annotations

from pipelines import docs
from tests.conftest import ROOT


def test_readme_tables_are_generated_from_the_field_rules_and_the_column_specs():
    readme = (ROOT / "README.md").read_text()
    assert not docs.missing_blocks(readme), "README.md lost some generated-table markers"
    assert docs.render(readme) == readme, "regenerate the README's tables: python -m pipelines.docs"


def test_readme_shows_the_two_commands_and_ci_runs_the_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()

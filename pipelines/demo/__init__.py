"""Demo data: a seeded, realistic 12-week routing log with two stories to find (see scenario.py)."""

from pipelines.demo.files import write_calls, write_demo
from pipelines.demo.generator import default_end, iter_weeks

__all__ = ["default_end", "iter_weeks", "write_calls", "write_demo"]

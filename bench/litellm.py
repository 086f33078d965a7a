"""The bench's LiteLLM input: the calls of a canonical CSV written as a LiteLLM SpendLogs export.

    .venv/bin/python -m bench.litellm CANONICAL_CSV OUT_CSV

See pipelines/demo/litellm_logs.py for the shape.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.demo.litellm_logs import write_spend_logs
from pipelines.ingest.fields import quote

if __name__ == "__main__":
    write_spend_logs(f"read_csv({quote(sys.argv[1])}, header = true, all_varchar = true)", Path(sys.argv[2]))

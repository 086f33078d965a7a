"""The bench's JSON lines with 1% of the rows made invalid: `python -m bench.bad_rows IN OUT`.

Every 100th line (lines 100, 200, ...) breaks one rule, four kinds in turn: a negative
token count, a timestamp that is not one, no call_id, and `1.5` as a token count. So a
file of N lines ingests N - N // 100 calls and rejects N // 100 rows.
"""

from __future__ import annotations

import json
import sys

EVERY = 100


def spoil(row: dict, kind: int) -> dict:
    if kind == 0:
        row["input_tokens"] = -5
    elif kind == 1:
        row["ts"] = "not a time"
    elif kind == 2:
        row.pop("call_id", None)
    else:
        row["output_tokens"] = 1.5
    return row


def main(source: str, target: str) -> None:
    with open(source, encoding="utf-8") as lines, open(target, "w", encoding="utf-8") as out:
        for number, line in enumerate(lines, start=1):
            if number % EVERY == 0:
                line = json.dumps(spoil(json.loads(line), (number // EVERY) % 4)) + "\n"
            out.write(line)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

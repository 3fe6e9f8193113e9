"""`python -m benchmarks NAME` runs one benchmark; `all` runs every one.

Each prints a readable table and, as its very last line, one JSON object of its figures.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "startup",
    "makers",
    "leaderboard",
    "broadcast",
    "throughput",
    "slow_replies",
    "memory",
    "map_render",
)


def main(argv: list[str]) -> int:
    # Options after a benchmark's name are its own (it reads them from sys.argv).
    if (
        not argv
        or (argv[0] not in BENCHMARKS and argv[0] != "all")
        or (argv[0] == "all" and len(argv) > 1)
    ):
        print(f"usage: python -m benchmarks {{{'|'.join((*BENCHMARKS, 'all'))}}}", file=sys.stderr)
        return 2
    names = BENCHMARKS if argv[0] == "all" else (argv[0],)
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

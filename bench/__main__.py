"""Benchmarks: `python -m bench [--quick] [--only SECTION]` from the project root (`make bench`).

Each section is a function (quick: bool) -> str in a module of bench/ that measures its own
baseline in the same run; add it to SECTIONS below.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from bench import booking, coverage, logins, moving, plans, push, scaleout, search, sockets

SECTIONS: dict[str, Callable[[bool], str]] = {
    "search": search.section,
    "moving": moving.section,
    "booking": booking.section,
    "push": push.section,
    "logins": logins.section,
    "scaleout": scaleout.section,
    "sockets": sockets.section,
    "plans": plans.section,
    "coverage": coverage.section,
}


def reference_ms() -> float:
    """The machine's speed right now: the best of 5 timings of a fixed pure-Python workload.

    Shared machines drift (by half, minute to minute, on the one these figures come from);
    printed before and after each section so its figures can be read against it."""
    def work() -> float:
        t0, d = time.perf_counter(), {}
        for i in range(300_000):
            d[i % 1000] = str(i)
        return time.perf_counter() - t0
    return min(work() for _ in range(5)) * 1000


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer queries, for a smoke run")
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS),
                        help="run only this section (repeatable)")
    args = parser.parse_args(argv)
    for name in args.only or list(SECTIONS):
        before = reference_ms()
        print(SECTIONS[name](args.quick), flush=True)
        print(f"  machine speed: reference workload {before:.0f} ms before, {reference_ms():.0f} ms after "
              f"(lower is faster)")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

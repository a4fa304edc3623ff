"""Dispatch benchmarks: `python -m bench.dispatch [--quick] [--only SECTION]` from the project root.

Each section is a function (quick: bool) -> str that measures its own baseline in the same run.
To add one (e.g. booking-to-offer latency over Socket.IO and bookings/s in bench/booking.py),
write `section(quick)` there; bench/booking.py is picked up automatically when present.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    # Run as `python bench/dispatch.py`: put the project root first, before bench/ itself,
    # so `import dispatch` finds the package and not this file.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import moving, search  # noqa: E402

SECTIONS: dict[str, Callable[[bool], str]] = {
    "search": search.section,
    "moving": moving.section,
}

try:  # bench/booking.py (booking-to-offer latency, bookings/s) registers itself once it exists
    import bench.booking as booking  # noqa: E402
except ModuleNotFoundError as exc:
    if exc.name != "bench.booking":  # booking.py exists but something it imports is missing
        raise
else:
    SECTIONS["booking"] = booking.section


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

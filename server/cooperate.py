"""Turns for other work inside long loops. `linli serve` runs on gevent, where code switches only
where it waits: a loop that computes for long would hold up every connection of the process."""
import time

_TURN_S = 0.001  # gevent polls for I/O only when sleeping for some time: sleep(0) would not let it


def give_way() -> None:
    """Let requests that arrived meanwhile run (on gevent), or other threads take the GIL."""
    time.sleep(_TURN_S)

"""Turns for other work, and work done away from it. `linli serve` runs on gevent, where code
switches only where it waits: a loop that computes for long would hold up every connection of the
process."""
import logging
import threading
import time

log = logging.getLogger(__name__)
_TURN_S = 0.001  # gevent polls for I/O only when sleeping for some time: sleep(0) would not let it


def give_way() -> None:
    """Let requests that arrived meanwhile run (on gevent), or other threads take the GIL."""
    time.sleep(_TURN_S)


def in_background(build, install) -> None:
    """Run build() on a native thread and pass its result (None if it failed) to install(): on
    gevent in a greenlet of the serving thread, else on that thread. build() must take no locks:
    on gevent, it runs outside the event loop."""
    from gevent import monkey

    if monkey.is_module_patched("threading"):
        import gevent

        job = gevent.get_hub().threadpool.spawn(_guarded, build)
        job.rawlink(lambda done: gevent.spawn(install, done.value))
    else:
        threading.Thread(target=lambda: install(_guarded(build)), name="linli-background", daemon=True).start()


def _guarded(build):
    try:
        return build()
    except Exception:
        log.exception("background build failed")
        return None

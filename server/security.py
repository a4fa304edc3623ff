"""Password hashing, sign-in tokens and the CSRF token bound to a sign-in.

Hashing and verifying a password costs a core for a good part of a second (Argon2id, on purpose).
Under `linli serve` (gevent, one process) it runs on gevent's threadpool: argon2-cffi releases the
GIL while it hashes, so the event loop goes on serving everyone else meanwhile. At most
`LINLI_HASH_CONCURRENCY` hashes run at once (default: one fewer than the cores, at least one);
more wait their turn, and past `LINLI_HASH_QUEUE` waiting (default 32) a login is refused at once
with 503 and Retry-After rather than queueing without end. The hashing threads run niced
(`LINLI_HASH_NICE`, default 10), so the event loop's thread wins a contended core.
`LINLI_PASSWORD_HASHING=inline` hashes on the calling thread as before (the benchmark's baseline).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import Busy

_hasher = PasswordHasher()  # Argon2id with the library's current recommended cost.
# A hash of a random password, checked against when the phone is unknown, so a failed login
# costs the same time whether or not the account exists.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

INLINE = os.environ.get("LINLI_PASSWORD_HASHING", "threadpool").strip().lower() == "inline"
SLOTS = max(1, int(os.environ.get("LINLI_HASH_CONCURRENCY") or max(1, (os.cpu_count() or 2) - 1)))
QUEUE = max(0, int(os.environ.get("LINLI_HASH_QUEUE") or 32))
RETRY_AFTER_S = 2


class _Gate:
    """Lets SLOTS hashes run at once and QUEUE more wait; refuses the rest (503). Its primitives are
    made on first use, so on gevent they are the patched (greenlet-aware) ones."""

    def __init__(self, slots: int, queue: int):
        self.slots, self.queue = slots, queue
        self._lock = threading.Lock()
        self._sem: threading.BoundedSemaphore | None = None
        self.waiting = 0

    def run(self, fn, *args):
        with self._lock:
            if self._sem is None:
                self._sem = threading.BoundedSemaphore(self.slots)
            if self.waiting >= self.slots + self.queue:
                raise Busy("登录的人太多，请稍后再试 / Too many sign-ins right now, try again shortly",
                           headers={"Retry-After": str(RETRY_AFTER_S)})
            self.waiting += 1
        try:
            with self._sem:
                return _off_the_loop(fn, *args)
        finally:
            with self._lock:
                self.waiting -= 1


def _off_the_loop(fn, *args):
    """fn(*args) on a gevent threadpool of native threads when this process runs on gevent, else
    right here. The pool's threads run at a lower CPU priority (nice NICE): on a busy machine the
    event loop's thread gets the core first, and logins wait rather than everyone else."""
    if not INLINE:
        from gevent import monkey

        if monkey.is_module_patched("threading"):
            return _pool().apply(_niced, (fn, *args))
    return fn(*args)


NICE = int(os.environ.get("LINLI_HASH_NICE") or 10)
_pools: list = []
_niced_threads: set[int] = set()


def _pool():
    """The hashing threads, a gevent ThreadPool of SLOTS (made on first use, in the serving thread)."""
    if not _pools:
        from gevent.threadpool import ThreadPool

        _pools.append(ThreadPool(SLOTS))
    return _pools[0]


def _niced(fn, *args):
    """On a hashing thread: lower this thread's priority once (Linux nices threads one by one)."""
    ident = threading.get_native_id()
    if NICE and ident not in _niced_threads:
        try:
            os.setpriority(os.PRIO_PROCESS, ident, min(19, os.getpriority(os.PRIO_PROCESS, ident) + NICE))
        except (AttributeError, OSError):
            pass
        _niced_threads.add(ident)
    return fn(*args)


_gate = _Gate(SLOTS, QUEUE)


def hash_password(password: str) -> str:
    """Argon2id hash of password (off the event loop, at most SLOTS at once)."""
    return _gate.run(_hasher.hash, password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when password matches; takes the same time for an unknown account (off the event loop)."""
    return _gate.run(_verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh bearer token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, so a leaked table signs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(token: str, secret_key: str) -> str:
    """The CSRF token for a sign-in: an HMAC of it, so it cannot be forged or planted by a cookie."""
    return hmac.new(secret_key.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:40]


def csrf_matches(token: str, secret_key: str, presented: str | None) -> bool:
    """Constant-time check of a presented CSRF token."""
    return bool(presented) and hmac.compare_digest(csrf_for(token, secret_key), presented)

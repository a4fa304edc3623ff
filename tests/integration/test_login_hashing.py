"""Password hashing under `linli serve` (gevent): a flood of logins for unknown phones must not hold
up other users, every login still costs a hash, and the number of hashes at once is bounded."""
from __future__ import annotations

import statistics
import threading
import time

import pytest
import requests

from server import security
from server.errors import Busy
from tests import factories as f


def _login_unknown(url: str, source: str, n: int, durations: list[float]) -> None:
    http = requests.Session()
    http.mount("http://", _SourceAdapter(source))
    for k in range(n):
        t0 = time.perf_counter()
        r = http.post(f"{url}/api/v1/auth/login", json={"phone": f"1990000{source[-1]}{k:03d}",
                                                         "password": "not-the-password-1"}, timeout=60)
        assert r.status_code == 401, r.text
        durations.append(time.perf_counter() - t0)


class _SourceAdapter(requests.adapters.HTTPAdapter):
    """Connections from one loopback address (each flooder is its own client, as the limits see it)."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def test_a_login_flood_does_not_hold_up_other_requests(tmp_path):
    """Three clients log in with unknown phones at once while another polls /healthz: the probes are
    answered while the hashes run (inline hashing held each probe for a hash or more)."""
    with f.LiveServer({"LINLI_INSTANCE_PATH": str(tmp_path / "instance")}, log=tmp_path / "serve.log") as server:
        logins, probes = [], []
        flooders = [threading.Thread(target=_login_unknown, args=(server.url, f"127.0.0.{k + 2}", 3, logins))
                    for k in range(3)]
        for t in flooders:
            t.start()
        http = requests.Session()
        while any(t.is_alive() for t in flooders):
            t0 = time.perf_counter()
            assert http.get(f"{server.url}/healthz", timeout=60).status_code == 200
            probes.append(time.perf_counter() - t0)
            time.sleep(0.01)
        for t in flooders:
            t.join()
        assert len(logins) == 9, server.log_tail()
        login_p50, probe_p50 = statistics.median(logins), statistics.median(probes)
        assert probe_p50 < 0.1 * login_p50, (probe_p50, login_p50, len(probes))
        # Every way a password is hashed or checked works on the pool: register, login, change.
        phone, old, new = "13800138777", "blue-teapot-42", "green-kettle-7"
        r = http.post(f"{server.url}/api/v1/auth/register", json={"phone": phone, "password": old, "name": "张三",
                                                                   "role": "senior"}, timeout=60)
        assert r.status_code == 201, r.text
        token = http.post(f"{server.url}/api/v1/auth/login", json={"phone": phone, "password": old},
                          timeout=60).json()["token"]
        r = http.post(f"{server.url}/api/v1/auth/password", json={"current_password": old, "new_password": new},
                      headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert r.status_code == 200 and r.json()["sessions_ended"] == 0, r.text
        assert http.post(f"{server.url}/api/v1/auth/login", json={"phone": phone, "password": new},
                         timeout=60).status_code == 200


def test_an_unknown_phone_still_costs_a_password_check(client, monkeypatch):
    checked = []
    real = security._verify
    monkeypatch.setattr(security, "_verify", lambda stored, password: checked.append(stored) or real(stored, password))
    r = client.post("/api/v1/auth/login", json={"phone": "13999999998", "password": "whatever-it-is"})
    assert r.status_code == 401 and checked == [None]  # None: checked against the dummy hash


def test_the_gate_bounds_hashes_at_once_and_refuses_past_its_queue():
    gate, release, started = security._Gate(slots=1, queue=1), threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(10)
        return "done"

    results = []
    first = threading.Thread(target=lambda: results.append(gate.run(slow)))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: results.append(gate.run(lambda: "queued")))
    second.start()
    deadline = time.monotonic() + 5
    while gate.waiting < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(Busy) as refused:
        gate.run(lambda: "refused")
    assert refused.value.status == 503 and refused.value.headers["Retry-After"]
    release.set()
    first.join(5)
    second.join(5)
    assert sorted(results) == ["done", "queued"] and gate.waiting == 0


def test_on_gevent_hashes_run_on_a_native_thread_of_their_pool(monkeypatch):
    from gevent import monkey

    monkeypatch.setattr(security, "INLINE", False)
    monkeypatch.setattr(security, "_pools", [])
    monkeypatch.setattr(monkey, "is_module_patched", lambda name: True)
    here = threading.get_ident()
    try:
        assert security._off_the_loop(threading.get_ident) != here
    finally:
        security._pools[0].kill()

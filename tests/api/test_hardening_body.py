"""Bodies over 64 KiB are 413 however they are framed: Content-Length or Transfer-Encoding: chunked."""
from __future__ import annotations

import http.client
import io
import json

import pytest

from tests.factories import LiveServer

LIMIT = 64 * 1024


def _register(phone: str) -> bytes:
    return json.dumps({"phone": phone, "password": "Zx9!good-pass", "name": "张三", "role": "family"}).encode()


def _post_chunked(client, body: bytes):
    """The test client with the body streamed and no Content-Length, on a server that ends the stream
    itself (gevent's and gunicorn's set wsgi.input_terminated for chunked bodies)."""
    return client.post("/api/v1/auth/register", input_stream=io.BytesIO(body), content_type="application/json",
                       headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})


def test_a_chunked_body_over_the_limit_is_413_in_the_test_client(client, fresh):
    r = _post_chunked(client, _register("13800138201") + b" " * (256 * 1024))
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"
    r = _post_chunked(client, _register("13800138202") + b" " * (LIMIT - len(_register("13800138202")) + 1))
    assert r.status_code == 413


@pytest.mark.parametrize("padding", [0, 100, "to the limit"])
def test_a_chunked_body_within_the_limit_is_read_whole(client, padding):
    body = _register("13800138203")
    body += b" " * (LIMIT - len(body) if padding == "to the limit" else padding)
    r = _post_chunked(client, body)
    assert r.status_code == 201, r.get_json()


def test_a_body_over_the_limit_with_content_length_is_still_413(client):
    r = client.post("/api/v1/auth/register", data=_register("13800138204") + b" " * LIMIT,
                    content_type="application/json")
    assert r.status_code == 413


def _raw_chunked(port: int, body: bytes, chunk: int = 8192) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.putrequest("POST", "/api/v1/auth/register")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        try:
            for i in range(0, len(body), chunk):
                part = body[i:i + chunk]
                conn.send(b"%x\r\n%s\r\n" % (len(part), part))
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before it has read everything
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chunked")
    with LiveServer({"LINLI_INSTANCE_PATH": str(folder / "instance"), "LINLI_SECRET_KEY": "chunked-test"},
                    log=folder / "serve.log") as server:
        yield server


def test_a_chunked_body_over_the_limit_is_413_on_linli_serve(live):
    status, body = _raw_chunked(live.port, _register("13800138211") + b" " * (256 * 1024))
    assert status == 413 and body["error"]["code"] == "too_large"
    status, _ = _raw_chunked(live.port, b"{" + b" " * (256 * 1024), chunk=65536)  # not even valid JSON
    assert status == 413


def test_small_chunked_bodies_still_work_on_linli_serve(live):
    status, body = _raw_chunked(live.port, _register("13800138212"), chunk=7)
    assert status == 201, body
    assert _raw_chunked(live.port, b"[1, 2", chunk=3)[0] == 400  # and are still checked

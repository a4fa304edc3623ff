"""`linli serve`'s HTTP server: gevent's WSGI server with TCP_NODELAY on every connection."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import json
from gevent import monkey
monkey.patch_all()
import socket
from gevent import pywsgi
from server.serving import NoDelayHandler

seen = []

class Probe(NoDelayHandler):
    def handle_one_request(self):
        seen.append(self.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        return super().handle_one_request()

def app(environ, start_response):
    start_response("200 OK", [("Content-Length", "2"), ("Content-Type", "text/plain")])
    return [b"ok"]

server = pywsgi.WSGIServer(("127.0.0.1", 0), app, handler_class=Probe, log=None)
server.start()
client = socket.create_connection(server.address)
replies = []
for _ in range(2):  # two requests on one kept-alive connection
    client.sendall(b"GET / HTTP/1.1\r\nHost: probe\r\n\r\n")
    data = b""
    while not data.endswith(b"ok"):
        data += client.recv(1024)
    replies.append(data)
server.stop()
print(json.dumps({"nodelay": seen, "statuses": [r.split(b"\r\n")[0].decode() for r in replies]}))
"""


def test_every_connection_sends_without_delay():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert len(out["nodelay"]) >= 2 and all(out["nodelay"]), out  # TCP_NODELAY on the connection
    assert out["statuses"] == ["HTTP/1.1 200 OK"] * 2

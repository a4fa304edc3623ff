"""The Procfile's gunicorn worker: gunicorn's gevent worker serving connections the way `linli serve` does.

gunicorn's own gevent worker hands a WebSocket to simple-websocket, which duplicates the socket (two
descriptors a phone). This worker keeps gunicorn (process management, graceful restarts, its access
log) and swaps in server/serving.py's connection handler and server: one descriptor a WebSocket, our
WebSocket transport, a quick clean close, and a 503 with Retry-After near the descriptor limit.
See docs/serving.md.
"""
from __future__ import annotations

from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler


class GeventWorker(GeventPyWSGIWorker):
    """`gunicorn --worker-class server.gunicorn_worker.GeventWorker`: gevent, one descriptor a socket."""

    def run(self):
        # Imported here, in the worker once gevent has patched it: the arbiter imports this module
        # before forking, and server.serving pulls in Socket.IO and the database layer.
        from server.serving import ConnectionHandler, Server, freeze_heap

        self.server_class = Server
        self.wsgi_handler = type("Handler", (ConnectionHandler, PyWSGIHandler), {
            "__doc__": "server/serving.py's connection handling with gunicorn's access log and environ."})
        freeze_heap()  # the app is loaded by now: out of the collector's full collections, as in linli serve
        super().run()

"""The WSGI entry for gunicorn (Procfile `web`): one gevent worker per process, jobs left to `clock`."""
from server.entry import patch_gevent

patch_gevent()

from server import create_app  # noqa: E402
from server.config import Settings  # noqa: E402
from server.state import start  # noqa: E402

app = create_app(Settings.from_env(scheduler=False))
start(app, scheduler=False)

"""The WSGI entry for gunicorn (Procfile `web`): one gevent worker per process, jobs left to `clock`."""
from gevent import monkey

monkey.patch_all()

from models.types import utcnow  # noqa: E402
from server import create_app  # noqa: E402
from server.config import Settings  # noqa: E402
from server.migrate import upgrade  # noqa: E402

settings = Settings.from_env(scheduler=False)
app = create_app(settings)
upgrade(app.extensions["linli.engine"])
app.extensions["linli.directory"].warm(utcnow())
# Deliver events from the start, including those the clock process writes while no request comes in.
app.extensions["linli.relay"].start()

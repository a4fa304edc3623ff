"""Linli's web tier: Flask app factory, REST API, Socket.IO, jobs and the CLI."""


def create_app(*args, **kwargs):
    """Build the app (see server.app.create_app); `flask --app server` finds this."""
    from server.app import create_app as factory

    return factory(*args, **kwargs)

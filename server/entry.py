"""The `linli` console script. `linli serve` runs on gevent, so this module patches the standard
library before anything else is imported (a lock made before patching would block the whole
process); every other command runs on plain threads."""
import sys

_TAKES_VALUE = {"-e", "--env-file", "-A", "--app"}  # the options of Flask's CLI group


def command_of(argv: list[str]) -> str | None:
    """The command named in argv (the arguments after the program), past the group's options."""
    args = iter(argv)
    for arg in args:
        if arg in _TAKES_VALUE:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def patch_gevent() -> None:
    """Patch the standard library for gevent (before anything else is imported), without greenlet
    spawn-tree tracking: gevent records the spawning stack of every greenlet by default, which was
    a seventh of a Socket.IO connect's CPU (Engine.IO starts a greenlet a socket for its pings)."""
    from gevent import config, monkey

    config.track_greenlet_tree = False
    monkey.patch_all()


def main() -> None:
    if command_of(sys.argv[1:]) == "serve":
        patch_gevent()
    from server.cli import main as cli

    cli()

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


def main() -> None:
    if command_of(sys.argv[1:]) == "serve":
        from gevent import monkey

        monkey.patch_all()
    from server.cli import main as cli

    cli()

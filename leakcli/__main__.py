"""The `leakcli` program (and `python -m leakcli`)."""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run the command line, then leave at once: by then every database is closed and every file
    written, and the interpreter's teardown (modules, DuckDB's instance) would only add about a
    tenth of a second to every command. `leakcli --version` needs nothing but the version."""
    if sys.argv[1:] == ["--version"]:
        from leakcli import __version__

        print(f"leakcli {__version__}")
        sys.stdout.flush()
        os._exit(0)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # leakcli uses none; finding them costs 20 ms
    from leakcli.cli import app

    try:
        app(prog_name="leakcli")
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if not isinstance(code, int):  # sys.exit("message") or sys.exit(None), as Python reports them
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`leakcli plan | head`): nothing more to say
            pass
    os._exit(code)


if __name__ == "__main__":
    main()

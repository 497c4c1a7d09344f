"""`python -m randaugment COMMAND`: the package's command line.

Commands: `preview` (`randaugment.preview`: a picture of a policy on one image).
Each command is a module with a `main(argv) -> int`; `python -m randaugment COMMAND
--help` shows its arguments.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "preview": ("randaugment.preview", "a PNG grid of one image under a policy, labelled"),
}


def main(argv: list[str] | None = None) -> int:
    """Runs `python -m randaugment COMMAND [ARGS]`; returns the exit code.

    Example:
        >>> from randaugment.__main__ import main
        >>> main(["--help"])  # doctest: +ELLIPSIS
        usage: python -m randaugment COMMAND [ARGS]
        ...
        0
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    usage = "usage: python -m randaugment COMMAND [ARGS]"
    if not argv or argv[0] in ("-h", "--help"):
        lines = [usage, "", "commands:"]
        lines += [f"  {name:<10} {what}" for name, (_, what) in COMMANDS.items()]
        lines += ["", "python -m randaugment COMMAND --help shows a command's arguments."]
        print("\n".join(lines), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(
            f"python -m randaugment: error: unknown command {command!r}; "
            f"commands: {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())

"""`localdev <command>`: the local runtime's command line (`make run` installs the command in
.venv/bin; `python -m localdev` is the same from the checkout's root).

Each command lives in its own module (or module attribute) exposing `HELP` (one line),
`add_arguments(parser)` and `main(args) -> int`; adding a command is one line in COMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

COMMANDS: dict[str, str] = {
    "serve": "localdev.cli.serve",
    "plan": "localdev.cli.plan",
    "season": "localdev.cli.season",
    "seed": "localdev.cli.data:seed",
    "load": "localdev.cli.data:load",
    "info": "localdev.cli.data:info",
    "smoke": "localdev.cli.smoke",
}


def _resolve(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def build_parser(commands: dict[str, str] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="localdev", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, target in commands.items():
        command = _resolve(target)
        command_parser = sub.add_parser(name, help=command.HELP, description=command.HELP)
        command.add_arguments(command_parser)
        command_parser.set_defaults(_main=command.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args._main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

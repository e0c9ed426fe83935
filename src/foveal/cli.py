"""`foveal`: the command-line interface.

Each room of the package owns its commands in a `commands.py` (or module) exposing
`register(app)`; this file only assembles them and turns bad input into one line on
stderr with exit code 2. Command modules import heavy libraries (torch, transformers)
inside the command functions, so `foveal --help` and `foveal tasks list` stay fast.
"""

from __future__ import annotations

import importlib
import sys

import click
import typer
from rich.console import Console

from foveal.errors import FovealError

app = typer.Typer(
    name="foveal",
    help="foveal: verifiable visual reasoning problems, exact verifiers, SFT + GRPO-family RL, evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = (
    "foveal.tasks.commands",  # tasks list/show, gen
    "foveal.models.commands",  # model tiny
    "foveal.serve.commands",  # serve
    "foveal.eval.commands",  # eval, report
    "foveal.train.commands",  # train
    "foveal.quickstart",  # quickstart
)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; FovealError -> one line on stderr, exit 2."""
    err = Console(stderr=True, highlight=False)
    try:
        rv = app(args=argv, standalone_mode=False)
    except FovealError as e:
        err.print(f"[bold red]error:[/] {e}", markup=True, soft_wrap=True)
        sys.exit(2)
    except click.exceptions.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        err.print("interrupted")
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()

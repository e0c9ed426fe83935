"""`foveal`: the command-line interface.

Each room of the package owns its commands in a `commands.py` (or module) exposing
`register(app)`; this file only assembles them and turns bad input into one line on
stderr with exit code 2. Command modules import heavy libraries (torch, transformers)
inside the command functions, so `foveal --help` and `foveal tasks list` stay fast.

Usage mistakes (an unknown command or option, an option without its value, a value of the
wrong type) are click's: they print click's usage line, a help hint and `Error: ...` with
its suggestion ("No such command 'lst'. Did you mean 'list'?"), exit code 2.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console
from rich.markup import escape

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
    "foveal.experiment.commands",  # experiment
    "foveal.select.commands",  # select
    "foveal.improve.commands",  # improve
    "foveal.merge_commands",  # merge add/layers/interpolate
    "foveal.quickstart",  # quickstart
)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)

# The click that typer parses with: its bundled copy (`typer._click`) since typer 0.29, the click
# package before. typer re-exports that click's BadParameter, whose module holds its exceptions.
click_exceptions = sys.modules[typer.BadParameter.__module__]


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; FovealError -> one line on stderr, exit 2."""
    err = Console(stderr=True, highlight=False)
    try:
        rv = app(args=argv, prog_name="foveal", standalone_mode=False)
    except FovealError as e:
        one_line = " ".join(part.strip() for part in str(e).splitlines() if part.strip())
        err.print(f"[bold red]error:[/] {escape(one_line)}", markup=True, soft_wrap=True)
        sys.exit(2)
    except click_exceptions.ClickException as e:  # usage errors: click's usage line + message, exit 2
        e.show()
        sys.exit(e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("interrupted")
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()

"""The one progress bar of foveal's long commands (training stages, evaluation).

    with progress_bar("acc {task.fields[acc]}", enabled=show) as bar:
        task = bar.add_task("eval", total=n, acc="-")
        bar.update(task, advance=1, acc="41%")

Columns: the task's name, the bar, done/total, elapsed, time left, then the caller's `fields`
(rich templates reading `task.fields`). `enabled=False` shows nothing (other processes of a
multi-process run, or callers with their own display).
"""

from __future__ import annotations


def progress_bar(*fields: str, enabled: bool = True):
    """A rich `Progress` with foveal's columns plus one text column per template in `fields`."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        *(TextColumn(f) for f in fields),
        disable=not enabled,
    )

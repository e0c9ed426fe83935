"""CLI for the gym: `foveal tasks list`, `foveal tasks show`, `foveal gen`.

Every argument is validated before anything is written; a bad one is a FovealError
(one line, exit code 2) and leaves no output directory behind.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from foveal.errors import FovealError
from foveal.options import about, check_out_dir, check_out_file


def level_range(levels: list[int]) -> str:
    return f"{min(levels)}-{max(levels)}" if levels == list(range(min(levels), max(levels) + 1)) else \
        ",".join(map(str, levels))


def tasks_list(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the task families: name, modality, levels, skill tags, forms and description."""
    from foveal import tasks

    infos = [t.info() for t in tasks.all_tasks()]
    if json_out:
        typer.echo(json.dumps(infos, indent=2))
        return
    table = Table(title=f"foveal gym: {len(infos)} task families", title_justify="left")
    for col in ("name", "modality", "levels", "tags", "forms"):
        table.add_column(col, no_wrap=True, style="bold" if col == "name" else None)
    table.add_column("description", ratio=1)
    for i in infos:
        table.add_row(i["name"], i["modality"], level_range(i["levels"]), ",".join(i["tags"]),
                      ",".join(i["forms"]), i["description"])
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def tasks_show(
    name: str = typer.Argument(..., help="Task name (see `foveal tasks list`)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Sample seed."),
    level: int = typer.Option(1, "--level", help="Difficulty level."),
    out: Path = typer.Option(..., "--out", help="Directory to write the images (PNG) and sample.json into."),
    form: str = typer.Option("image", "--form", help="image, text or mixed."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
) -> None:
    """Generate one sample; write its images and sample.json to --out and print it."""
    from foveal import tasks
    from foveal.io import atomic_dir, atomic_write_json
    from foveal.sample import png_bytes

    task = tasks.get(name)
    with about("--level"):
        task.check_level(level)
    with about("--form"):
        if form not in task.forms:
            raise FovealError(f"expected one of {', '.join(task.forms)} ({name}'s forms), got {form!r}")
    check_out_dir(out, overwrite)
    sample = task.generate(seed, level, form)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        files = []
        for k, im in enumerate(sample.images):
            files.append(f"image_{k}.png" if len(sample.images) == 1 else f"frame_{k:02d}.png")
            (tmp / files[-1]).write_bytes(png_bytes(im))
        record = sample.to_record(with_images=False)
        record["images"] = files
        atomic_write_json(tmp / "sample.json", record)
    c = Console(highlight=False)
    c.print(f"[bold]{sample.id}[/]  ({sample.answer_type}, form {sample.form}, tags {', '.join(sample.tags)})")
    c.print("[bold]prompt:[/]", sample.prompt, markup=True)
    c.print("[bold]answer:[/]", sample.answer)
    c.print("[bold]solution:[/]", sample.solution)
    c.print(f"wrote {len(files)} image(s) and sample.json to {out}")


def gen(
    tasks_: str = typer.Option(..., "--tasks", help="Comma-separated task names, or 'all'."),
    n: int = typer.Option(100, "--n", min=1, help="Samples per task (per form)."),
    levels: str = typer.Option("1-5", "--levels", help="Levels to cycle through: '1-5' or '1,3,5'."),
    seed: int = typer.Option(0, "--seed", min=0, help="Sample i of each task has seed SEED+i."),
    out: Path = typer.Option(..., "--out", help="Output dataset directory (must not exist unless --overwrite)."),
    fmt: str = typer.Option("hf", "--format", help="hf (datasets + parquet), jsonl (+PNG files) or verl."),
    forms: str = typer.Option("image", "--forms", help="Comma-separated forms: image,text,mixed."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes to generate with (output is identical)."),
    shard: str = typer.Option(None, "--shard", help="Only shard k of N ('k/N', 0 <= k < N) of every task."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
) -> None:
    """Generate a dataset: N samples per task over the given levels and forms, saved as hf, jsonl or verl."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from foveal.tasks.export import FORMATS, write_dataset
    from foveal.tasks.generate import iter_plan, plan

    p = plan(tasks_, n, levels, seed, forms, shard)
    if fmt not in FORMATS:
        raise FovealError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    check_out_dir(out, overwrite)
    c = Console(highlight=False)
    for t, missing in p.skipped.items():
        c.print(f"note: {t} has no {', '.join(missing)} form; skipped for it")
    manifest = {"tasks": list(p.tasks), "n": p.n, "levels": list(p.levels), "seed": p.seed,
                "forms": list(p.forms), "shard": f"{p.shard[0]}/{p.shard[1]}" if p.shard else None}
    t0 = time.perf_counter()
    stream = iter_plan(p, workers)
    with Progress(TextColumn("[bold]gen[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=c) as bar:
        job = bar.add_task(fmt, total=p.count, rate="")

        def tick(_sample) -> None:
            done = bar.tasks[0].completed + 1
            bar.update(job, advance=1, rate=f"{done / max(time.perf_counter() - t0, 1e-9):.0f}/s")

        try:
            written = write_dataset(stream, out, fmt, manifest, overwrite=overwrite,
                                    on_sample=tick)
        except OSError as e:
            raise FovealError(f"--out {out}: writing failed ({e})") from e
    dt = time.perf_counter() - t0
    c.print(f"wrote {written['count']} samples ({', '.join(p.tasks)}; levels {level_range(list(p.levels))}; "
            f"forms {','.join(p.forms)}) to {out} as {fmt} in {dt:.1f} s ({written['count'] / dt:.0f} samples/s)")


def tasks_gallery(
    out: Path = typer.Option(Path("gallery.png"), "--out", help="PNG file to write."),
    level: int = typer.Option(None, "--level", min=1,
                              help="Level drawn for every family, capped at each one's highest (default: its middle level)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of every tile."),
) -> None:
    """Write a contact sheet with one picture of every family (the README's docs/gallery.png)."""
    from foveal.tasks.gallery import build_gallery

    check_out_file(out)

    path = build_gallery(out, level=level, seed=seed)
    Console().print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add `foveal tasks list|show|gallery` and `foveal gen` to the app."""
    tasks_app = typer.Typer(help="Browse the gym's task families.", no_args_is_help=True)
    tasks_app.command("list")(tasks_list)
    tasks_app.command("show")(tasks_show)
    tasks_app.command("gallery")(tasks_gallery)
    app.add_typer(tasks_app, name="tasks")
    app.command("gen")(gen)

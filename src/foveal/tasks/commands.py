"""CLI for the gym: `foveal tasks list`, `foveal tasks show`, `foveal gen`.

Every argument is validated before anything is written; a bad one is a FovealError
(one line, exit code 2) and leaves no output directory behind.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from foveal.errors import FovealError
from foveal.options import about, check_out_dir, check_out_file

QUERY_HELP = "Ask only this kind of question (see `foveal tasks list`: each family's queries); default: drawn per seed."
PHRASING_HELP = "Word questions only this way: direct, imperative, polite or terse; default: drawn per seed."
STYLE_HELP = "Draw only in this style: plain, paper, blueprint, noisy, soft or bold; default: drawn per seed."
HOLD_OUT_HELP = ("Keep a part of the gym out of train/val/test, e.g. style=noisy, phrasing=terse or query=sum "
                 "(comma-separated or repeated); --split ood then draws only it.")


def variant_spec(query, phrasing, style, hold_out):
    from foveal.tasks.variant import VariantSpec

    return VariantSpec.parse(query, phrasing, style, hold_out)


def level_range(levels: list[int]) -> str:
    return f"{min(levels)}-{max(levels)}" if levels == list(range(min(levels), max(levels) + 1)) else \
        ",".join(map(str, levels))


def tasks_list(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the task families: name, modality, levels, skill tags, forms, queries and description.

    A variant is family × query × form; every variant is drawn in each phrasing and style."""
    from foveal import tasks

    infos = [t.info() for t in tasks.all_tasks()]
    if json_out:
        typer.echo(json.dumps(infos, indent=2))
        return
    n_variants = sum(i["variants"] for i in infos)
    table = Table(title=f"foveal gym: {len(infos)} task families, {n_variants} variants (family × query × form)",
                  title_justify="left")
    for col in ("name", "modality", "levels", "tags", "forms"):
        table.add_column(col, no_wrap=True, style="bold" if col == "name" else None)
    table.add_column("queries")
    table.add_column("description", ratio=1)
    for i in infos:
        table.add_row(i["name"], i["modality"], level_range(i["levels"]), ",".join(i["tags"]),
                      ",".join(i["forms"]), ",".join(i["queries"]), i["description"])
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def tasks_show(
    name: str = typer.Argument(..., help="Task name (see `foveal tasks list`)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Sample seed."),
    level: int = typer.Option(1, "--level", help="Difficulty level."),
    out: Path = typer.Option(..., "--out", help="Directory to write the images (PNG) and sample.json into."),
    form: str = typer.Option("image", "--form", help="image, text or mixed."),
    query: str = typer.Option(None, "--query", help=QUERY_HELP),
    phrasing: str = typer.Option(None, "--phrasing", help=PHRASING_HELP),
    style: str = typer.Option(None, "--style", help=STYLE_HELP),
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
    variant = variant_spec(query, phrasing, style, None)
    variant.check_task(task, [level], None)
    check_out_dir(out, overwrite)
    sample = task.generate(seed, level, form, **variant.kwargs())
    with atomic_dir(out, overwrite=overwrite) as tmp:
        files = []
        for k, im in enumerate(sample.images):
            files.append(f"image_{k}.png" if len(sample.images) == 1 else f"frame_{k:02d}.png")
            (tmp / files[-1]).write_bytes(png_bytes(im))
        record = sample.to_record(with_images=False)
        record["images"] = files
        atomic_write_json(tmp / "sample.json", record)
    c = Console(highlight=False)
    v = sample.meta["variant"]
    c.print(f"[bold]{sample.id}[/]  ({sample.answer_type}, form {sample.form}, query {v['query']}, "
            f"phrasing {v['phrasing']}, style {v['style']}, tags {', '.join(sample.tags)})")
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
    fmt: str = typer.Option("hf", "--format", help="hf (datasets + parquet), jsonl (+PNG files), verl (its RL parquet) or trl (TRL's VLM chat layout)."),
    forms: str = typer.Option("image", "--forms", help="Comma-separated forms: image,text,mixed."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes to generate with (output is identical)."),
    shard: str = typer.Option(None, "--shard", help="Only shard k of N ('k/N', 0 <= k < N) of every task."),
    split: str = typer.Option("train", "--split",
                              help="Content split: train (for training), val (for tuning), test (for reporting), "
                                   "or ood (only what --hold-out holds out, on test content)."),
    query: str = typer.Option(None, "--query", help=QUERY_HELP),
    phrasing: str = typer.Option(None, "--phrasing", help=PHRASING_HELP),
    style: str = typer.Option(None, "--style", help=STYLE_HELP),
    hold_out: list[str] = typer.Option(None, "--hold-out", help=HOLD_OUT_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
) -> None:
    """Generate a dataset: N samples per task over the given levels and forms, saved as hf, jsonl, verl or trl.

    Every sample is a problem of one content split (default train): train, val and test never share
    a problem, whatever the seeds. A level whose split holds fewer distinct problems than asked for
    is reported (see `foveal tasks stats`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from foveal.tasks.export import FORMATS, write_dataset
    from foveal.tasks.generate import iter_plan, plan

    p = plan(tasks_, n, levels, seed, forms, shard, split, variant_spec(query, phrasing, style, hold_out))
    if fmt not in FORMATS:
        raise FovealError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    check_out_dir(out, overwrite)
    c = Console(highlight=False)
    for t, missing in p.skipped.items():
        c.print(f"note: {t} has no {', '.join(missing)} form; skipped for it")
    manifest = {"tasks": list(p.tasks), "n": p.n, "levels": list(p.levels), "seed": p.seed,
                "forms": list(p.forms), "shard": f"{p.shard[0]}/{p.shard[1]}" if p.shard else None,
                "split": p.split, "variant": p.variant.as_dict()}
    t0 = time.perf_counter()
    drawn = Counter((job[0], job[2]) for job in p.jobs)  # samples per (task, level), each form aside
    keys: dict[tuple[str, int], set[str]] = {}

    def count_distinct(samples):
        for x in samples:
            keys.setdefault((x.task, x.level), set()).add(x.problem_key)
            yield x

    stream = count_distinct(iter_plan(p, workers))
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
            f"forms {','.join(p.forms)}; split {p.split}) to {out} as {fmt} in {dt:.1f} s "
            f"({written['count'] / dt:.0f} samples/s)")
    for (task, level), ks in sorted(keys.items()):
        if len(ks) < 0.9 * drawn[(task, level)]:
            c.print(f"[yellow]warning:[/] {task} level {level}: only {len(ks)} distinct problems among "
                    f"{drawn[(task, level)]} samples of the {p.split} split; this level's problem space is small "
                    f"(`foveal tasks stats {task} --level {level}`)")


def tasks_stats(
    name: str = typer.Argument(..., help="Task name (see `foveal tasks list`)."),
    level: int = typer.Option(None, "--level", help="One level (default: every level)."),
    form: str = typer.Option("image", "--form", help="image, text or mixed: what counts as distinct."),
    n: int = typer.Option(2000, "--n", min=2, help="Draws per level."),
    split: str = typer.Option(None, "--split", help="Draw from one content split only (train, val, test)."),
    query: str = typer.Option(None, "--query", help=QUERY_HELP),
    phrasing: str = typer.Option(None, "--phrasing", help=PHRASING_HELP),
    style: str = typer.Option(None, "--style", help=STYLE_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Estimate how many distinct problems a family holds per level (distinct in N draws + Chao1 estimate).

    Pin --query to size one variant; phrasings and styles, unless pinned, are drawn per seed as in a dataset."""
    from foveal import tasks
    from foveal.split import check_split
    from foveal.tasks.stats import problem_space

    task = tasks.get(name)
    if form not in task.forms:
        raise FovealError(f"--form {form!r}: task {name!r} has forms {', '.join(task.forms)}")
    check_split(split)
    variant = variant_spec(query, phrasing, style, None)
    levels = [level] if level is not None else sorted(task.levels)
    for lv in levels:
        task.check_level(lv)
    with about("--level"):
        variant.check_task(task, levels, split)
    rows = [problem_space(task, lv, form, n, split=split, variant=variant) for lv in levels]
    if json_out:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{name}: distinct {form}-form problems in {n} draws per level"
                        + (f" of the {split} split" if split else ""), title_justify="left")
    for col in ("level", "distinct", "keys", "once", "Chao1 estimate", "keys train/val/test"):
        table.add_column(col, justify="right")
    for r in rows:
        ks = r["keys_by_split"]
        table.add_row(str(r["level"]), str(r["distinct"]), str(r["distinct_keys"]), str(r["singletons"]),
                      f"{r['distinct_estimate']:,}", f"{ks.get('train', 0)}/{ks.get('val', 0)}/{ks.get('test', 0)}")
    Console(highlight=False).print(table)


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
    tasks_app.command("stats")(tasks_stats)
    app.add_typer(tasks_app, name="tasks")
    app.command("gen")(gen)

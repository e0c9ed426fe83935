"""`foveal merge add | layers | interpolate`: weight merging over saved models (`foveal.merge`)."""

from __future__ import annotations

from pathlib import Path

import typer

merge_app = typer.Typer(help="Merge saved models: task vectors, layer swapping, layer-wise interpolation.",
                        no_args_is_help=True)

OUT = typer.Option(..., "--out", help="Directory to write the merged model to (refused if non-empty, unless --overwrite).")
OVERWRITE = typer.Option(False, "--overwrite", help="Replace an existing --out (only once the merge is complete).")


def _report(recipe: dict, out: Path) -> None:
    from rich.console import Console

    console = Console()
    shown = {k: v for k, v in recipe.items() if k not in ("op", "formula")}
    console.print(f"[bold]merge {recipe['op']}[/] -> {out}")
    if "formula" in recipe:
        console.print(f"  {recipe['formula']}")
    for k, v in shown.items():
        console.print(f"  {k:<18} {v}")
    console.print(f"  files              {', '.join(sorted(p.name for p in out.iterdir()))}")


@merge_app.command("add")
def add_command(
    base: Path = typer.Option(..., "--base", help="The model to add to (its config, processor and tokenizer are kept)."),
    plus: Path = typer.Option(..., "--plus", help="FT: the fine-tuned end of the task vector."),
    minus: Path = typer.Option(..., "--minus", help="REF: the reference end of the task vector."),
    alpha: float = typer.Option(1.0, "--alpha", help="Scale of the vector; negative subtracts it."),
    method: str = typer.Option("none", "--method", help="Thin the vector first: none, ties (keep the largest "
                                                        "--density of entries) or dare (drop at random, rescale)."),
    density: float = typer.Option(1.0, "--density", help="Fraction of the vector's entries kept by ties/dare, in (0, 1]."),
    seed: int = typer.Option(0, "--seed", min=0, help="dare's random seed."),
    out: Path = OUT,
    overwrite: bool = OVERWRITE,
) -> None:
    """BASE + alpha * (PLUS - MINUS), tensor by tensor in float64 (task / reasoning vectors)."""
    from foveal.merge import merge_add

    _report(merge_add(base, plus, minus, alpha, out, overwrite=overwrite, method=method, density=density,
                      seed=seed), out)


@merge_app.command("layers")
def layers_command(
    base: Path = typer.Option(..., "--base", help="The model whose other tensors are kept."),
    donor: Path = typer.Option(..., "--donor", help="The model the listed decoder layers come from."),
    layers: str = typer.Option(..., "--layers", help="Decoder layers to take from --donor, e.g. 0,2-3."),
    out: Path = OUT,
    overwrite: bool = OVERWRITE,
) -> None:
    """BASE with the listed decoder layers taken from DONOR (layer swapping); vision towers stay BASE's."""
    from foveal.merge import merge_layers

    _report(merge_layers(base, donor, layers, out, overwrite=overwrite), out)


@merge_app.command("interpolate")
def interpolate_command(
    a: Path = typer.Option(..., "--a", help="Model A (alpha 0; its config, processor and tokenizer are kept)."),
    b: Path = typer.Option(..., "--b", help="Model B (alpha 1)."),
    alpha: str = typer.Option(..., "--alpha", help="A number in [0, 1], linear:FIRST:LAST across decoder layers, "
                                                   "or a comma list with one value per decoder layer."),
    rest: float = typer.Option(None, "--rest", help="Alpha for tensors outside the decoder layers (embeddings, "
                                                    "norm, vision tower); default --alpha if a number, else 0."),
    out: Path = OUT,
    overwrite: bool = OVERWRITE,
) -> None:
    """(1 - alpha) * A + alpha * B, alpha per decoder layer (FRANK-style layer-wise fusion)."""
    from foveal.merge import merge_interpolate

    _report(merge_interpolate(a, b, alpha, out, rest=rest, overwrite=overwrite), out)


def register(app: typer.Typer) -> None:
    app.add_typer(merge_app, name="merge")

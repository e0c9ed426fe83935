"""`foveal model ...` commands."""

from __future__ import annotations

from pathlib import Path

import typer

model_app = typer.Typer(help="Build and inspect models.", no_args_is_help=True)


@model_app.command("tiny")
def tiny(
    out: Path = typer.Option(..., "--out", help="Directory to write the model to (must not exist)."),
    seed: int = typer.Option(0, min=0, help="Initialisation seed; the same seed gives the same weights."),
    arch: str = typer.Option("tiny", help="Which embedded VLM: tiny (Qwen2-VL), tiny-deep, tiny-llava, tiny-idefics3 "
                                          "(docs/models.md compares them)."),
    overwrite: bool = typer.Option(False, help="Replace an existing directory."),
) -> None:
    """Build an embedded tiny VLM (random weights; default the tiny Qwen2-VL) and save it like a hub model."""
    from rich.console import Console

    from foveal.errors import FovealError
    from foveal.models.tiny import ARCHS, TINY_NAME, TinySize
    from foveal.options import check_out_dir

    if arch not in ARCHS:
        raise FovealError(f"--arch {arch!r}: expected one of {', '.join(ARCHS)}")
    check_out_dir(out, overwrite)
    console = Console()
    with console.status(f"building {arch}"):
        policy = ARCHS[arch](out, seed=seed, overwrite=overwrite)
    console.print(f"[bold]{arch}[/] ({type(policy.model).__name__}, seed {seed}) -> {out}")
    console.print(f"  parameters   {policy.num_parameters():,}")
    if arch != TINY_NAME:
        console.print(f"  files        {', '.join(sorted(p.name for p in Path(out).iterdir()))}")
        return
    size = TinySize()
    console.print(f"  vocabulary   {len(policy.tokenizer)} tokens (byte-level BPE on the gym's text)")
    console.print(
        f"  text         {size.text_layers} layers x {size.text_hidden} wide, {size.text_heads} heads, "
        f"mrope_section {size.mrope_section}"
    )
    console.print(
        f"  vision       {size.vision_depth} blocks x {size.vision_embed} wide, patch {size.patch_size}, "
        f"merge {size.merge_size} (a 64 px image -> {(64 // size.patch_size // size.merge_size) ** 2} tokens)"
    )
    console.print(f"  files        {', '.join(sorted(p.name for p in Path(out).iterdir()))}")


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")

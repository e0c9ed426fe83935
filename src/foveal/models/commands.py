"""`foveal model ...` commands."""

from __future__ import annotations

from pathlib import Path

import typer

model_app = typer.Typer(help="Build and inspect models.", no_args_is_help=True)


@model_app.command("tiny")
def tiny(
    out: Path = typer.Option(..., "--out", help="Directory to write the model to (must not exist)."),
    seed: int = typer.Option(0, min=0, help="Initialisation seed; the same seed gives the same weights."),
    overwrite: bool = typer.Option(False, help="Replace an existing directory."),
) -> None:
    """Build the embedded tiny Qwen2-VL (random weights) and save it like a hub model."""
    from rich.console import Console

    from foveal.models.tiny import TinySize, build_tiny_vlm
    from foveal.options import check_out_dir

    check_out_dir(out, overwrite)
    console = Console()
    with console.status("building the tiny VLM"):
        policy = build_tiny_vlm(out, seed=seed, overwrite=overwrite)
    size = TinySize()
    console.print(f"[bold]tiny VLM[/] (Qwen2VLForConditionalGeneration, seed {seed}) -> {out}")
    console.print(f"  parameters   {policy.num_parameters():,}")
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

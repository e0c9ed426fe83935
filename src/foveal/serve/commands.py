"""`foveal serve`: a model behind an OpenAI-compatible API (the work is in `foveal.serve.app`)."""

from __future__ import annotations

import typer


def serve(
    model_dir: str = typer.Argument(..., help="A model directory (or 'tiny', 'smollm2-135m'): anything load_policy takes."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind (0.0.0.0 for every interface)."),
    name: str = typer.Option(None, help="Model name clients send as `model` (default: MODEL_DIR as given)."),
    api_key: str = typer.Option(None, "--api-key", envvar="FOVEAL_API_KEY", help="Require 'Authorization: Bearer KEY'."),
    device: str = typer.Option(None, help="cpu, cuda, cuda:1 ... (default: cuda when available)."),
    max_batch: int = typer.Option(32, "--max-batch", min=1, help="Most sequences one generate call runs (a request with n=k counts k)."),
    max_wait_ms: float = typer.Option(10.0, "--max-wait-ms", min=0, max=10_000, help="How long the oldest waiting request waits for others to join its batch."),
    max_queue: int = typer.Option(256, "--max-queue", min=1, help="Requests that may wait; more are answered 429 with Retry-After."),
) -> None:
    """Serve a model behind an OpenAI-compatible API: GET /v1/models, POST /v1/chat/completions."""
    from foveal.errors import FovealError
    from foveal.options import check_device, check_listen
    from foveal.serve.app import serve as run_server

    if api_key is not None and not api_key.strip():
        raise FovealError("--api-key is empty (expected the key clients must send, or no --api-key)")
    check_device(device)
    check_listen(host, port)  # before the model load: a taken port or a bad host fails at once

    run_server(
        model_dir,
        host=host,
        port=port,
        model_name=name,
        api_key=api_key,
        device=device,
        max_batch=max_batch,
        max_wait=max_wait_ms / 1000,
        max_queue=max_queue,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)

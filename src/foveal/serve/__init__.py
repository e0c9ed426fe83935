"""foveal.serve: any model foveal loads, behind an OpenAI-compatible chat-completions API.

    foveal serve runs/tiny --port 8000
    curl http://127.0.0.1:8000/v1/chat/completions -H 'content-type: application/json' \
         -d '{"model": "runs/tiny", "messages": [{"role": "user", "content": "How many circles?"}]}'

Endpoints:
    GET  /v1/models             the one served model
    POST /v1/chat/completions   messages (text parts and `image_url` parts holding base64 data
                                URLs), n, temperature, top_p, max_tokens (or max_completion_tokens),
                                stop, seed, logprobs, stream (+ stream_options.include_usage). The
                                response follows OpenAI's schema plus vLLM's extensions
                                `choices[i].token_ids` and `prompt_token_ids`.

The room, top to bottom:
    protocol.py   the request model, error bodies and response/chunk objects (no web framework)
    batcher.py    dynamic batching: concurrent requests share one `generate`, each row sampled
                  with its own seed, temperature and top-p
    app.py        the FastAPI app, `running(app)` for tests and scripts, `serve()` for the CLI
    commands.py   `foveal serve`

Client errors answer 400/404 with OpenAI's error JSON; a wrong or missing key 401; a full
queue 429 with Retry-After.
"""

__all__ = ["create_app", "running", "serve"]


def __getattr__(name: str):
    """Import `foveal.serve.app` on first use, so `foveal --help` (which registers `foveal serve`)
    does not pay for pydantic's request models."""
    if name in __all__:
        from foveal.serve import app

        return getattr(app, name)
    raise AttributeError(f"module 'foveal.serve' has no attribute {name!r}")

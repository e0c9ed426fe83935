"""`foveal serve`: any model foveal loads, behind an OpenAI-compatible chat-completions API.

    foveal serve runs/tiny --port 8000
    curl http://127.0.0.1:8000/v1/chat/completions -H 'content-type: application/json' \
         -d '{"model": "runs/tiny", "messages": [{"role": "user", "content": "How many circles?"}]}'

Endpoints:
    GET  /v1/models             the one served model
    POST /v1/chat/completions   messages (text parts and `image_url` parts holding base64 data
                                URLs), n, temperature, top_p, max_tokens (or max_completion_tokens),
                                stop, seed, logprobs. The response follows OpenAI's schema (choices,
                                finish_reason, usage, per-token logprobs when asked) plus vLLM's
                                extensions `choices[i].token_ids` and `prompt_token_ids`.

Client errors (malformed JSON, missing messages, an undecodable image, an unknown model, a
prompt longer than the context, streaming) answer 400/404 with OpenAI's error JSON
`{"error": {"message", "type", "param", "code"}}`; a wrong or missing key (when the server
was started with one) answers 401. Generation runs through the `hf` backend one request at a
time (a lock), so concurrent clients queue; each request's `n` completions are one batch.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import logging
import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from foveal.errors import FovealError
from foveal.rollout.base import Sampling

log = logging.getLogger("foveal.serve")

DEFAULT_MAX_TOKENS = 256
MAX_N = 64


class ClientError(Exception):
    """A request the server refuses: becomes an OpenAI-style error response with `status`."""

    def __init__(self, message: str, status: int = 400, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.param, self.code = status, param, code


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The fields of OpenAI's chat-completions request that this server reads; others are ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    n: int = Field(1, ge=1, le=MAX_N)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    logprobs: bool = False
    stream: bool = False


def error_body(
    message: str, param: str | None = None, code: str | None = None, kind: str = "invalid_request_error"
):
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def validation_error_body(errors: list[dict]) -> dict:
    """OpenAI's error JSON for the first of pydantic's/FastAPI's request validation errors."""
    err = errors[0] if errors else {}
    kind, loc = err.get("type"), [x for x in err.get("loc", ()) if x != "body"]
    if kind == "json_invalid":
        detail = (err.get("ctx") or {}).get("error", "")
        return error_body(f"request body is not valid JSON: {detail}".rstrip(": "))
    if not loc:
        return error_body(
            "request body must be a JSON object with 'messages' (send Content-Type: application/json)"
        )
    param = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc).lstrip(".")
    return error_body(f"{param}: {err.get('msg', 'invalid value')}", param)


def decode_data_url(url: str, where: str) -> Image.Image:
    """The RGB image in a `data:image/...;base64,...` URL; ClientError (400) naming `where` otherwise."""
    if not isinstance(url, str) or not url.startswith("data:"):
        shown = url[:60] if isinstance(url, str) else type(url).__name__
        raise ClientError(
            f"{where}: image URL {shown!r} is not a base64 data URL (data:image/png;base64,...); "
            "this server does not fetch remote images",
            param=where,
        )
    header, _, payload = url.partition(",")
    if not header.endswith(";base64"):
        raise ClientError(f"{where}: data URL is not base64-encoded ({header[:40]!r})", param=where)
    try:
        image = Image.open(io.BytesIO(base64.b64decode(payload, validate=True)))
        image.load()
        return image.convert("RGB")
    except (binascii.Error, ValueError):
        raise ClientError(f"{where}: image data is not valid base64", param=where) from None
    except UnidentifiedImageError:
        raise ClientError(
            f"{where}: cannot decode image: the bytes are not a PNG, JPEG or other image PIL reads",
            param=where,
        ) from None
    except Exception as e:  # PIL raises several types for corrupt or oversized images
        raise ClientError(f"{where}: cannot decode image: {e}", param=where) from None


def to_policy_messages(messages: list[ChatMessage]) -> list[dict]:
    """OpenAI messages -> foveal's messages: `image_url` parts become {"type": "image", "image": PIL}."""
    out = []
    for i, m in enumerate(messages):
        content = m.content
        if content is None:
            content = ""
        if isinstance(content, list):
            parts = []
            for j, part in enumerate(content):
                where = f"messages[{i}].content[{j}]"
                kind = part.get("type")
                if kind == "text":
                    if not isinstance(part.get("text"), str):
                        raise ClientError(f"{where}: a text part needs a string 'text'", param=where)
                    parts.append({"type": "text", "text": part["text"]})
                elif kind == "image_url":
                    url = part.get("image_url")
                    url = url.get("url") if isinstance(url, dict) else url
                    parts.append({"type": "image", "image": decode_data_url(url, where)})
                else:
                    raise ClientError(
                        f"{where}: unsupported content part type {kind!r} (expected 'text' or 'image_url')",
                        param=where,
                    )
            content = parts
        out.append({"role": "system" if m.role == "developer" else m.role, "content": content})
    return out


def require_server_packages() -> None:
    """FovealError with the install command when fastapi or uvicorn is missing."""
    import importlib.util

    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise FovealError(f"foveal serve needs {' and '.join(missing)}: pip install 'foveal[serve]'")


def create_app(target: Any, model_name: str = "foveal", api_key: str | None = None):
    """The FastAPI app serving `target` (a `Policy`, run through the hf backend, or any rollout Backend).

    api_key: when given, every /v1 request must carry `Authorization: Bearer <api_key>`.
    """
    require_server_packages()
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from foveal.models.policy import Policy

    if isinstance(target, Policy):
        from foveal.rollout.hf import HFBackend

        backend, policy = HFBackend(target), target
    elif callable(getattr(target, "generate", None)):
        backend, policy = target, getattr(target, "policy", None)
    else:
        raise FovealError(f"serve: expected a Policy or a rollout backend, got {type(target).__name__}")

    tokenizer = getattr(policy, "tokenizer", None)
    context = getattr(policy, "context_length", None)
    app = FastAPI(title="foveal", docs_url=None, redoc_url=None, openapi_url=None)
    lock = threading.Lock()
    created = int(time.time())

    @app.exception_handler(ClientError)
    async def _client_error(request: Request, e: ClientError):
        return JSONResponse(error_body(str(e), e.param, e.code), status_code=e.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError):
        return JSONResponse(validation_error_body(e.errors()), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException):
        return JSONResponse(
            error_body(f"{request.method} {request.url.path}: {e.detail}"), status_code=e.status_code
        )

    @app.exception_handler(Exception)
    async def _internal(request: Request, e: Exception):
        log.exception("generation failed")
        return JSONResponse(
            error_body(f"internal error: {type(e).__name__}: {e}", kind="server_error"), status_code=500
        )

    @app.middleware("http")
    async def _auth(request: Request, call_next):
        if api_key is not None and request.url.path.startswith("/v1"):
            if request.headers.get("authorization", "") != f"Bearer {api_key}":
                body = error_body(
                    "Incorrect or missing API key (send 'Authorization: Bearer <key>')",
                    code="invalid_api_key",
                )
                return JSONResponse(body, status_code=401)
        return await call_next(request)

    @app.get("/v1/models")
    def models() -> dict:
        return {
            "object": "list",
            "data": [{"id": model_name, "object": "model", "created": created, "owned_by": "foveal"}],
        }

    @app.post("/v1/chat/completions")
    def chat_completions(req: ChatRequest) -> dict:
        if req.stream:
            raise ClientError(
                "stream: streaming is not supported by foveal serve; send stream=false", param="stream"
            )
        if req.model is not None and req.model != model_name:
            raise ClientError(
                f"The model {req.model!r} does not exist; this server serves {model_name!r}",
                status=404,
                param="model",
                code="model_not_found",
            )
        messages = to_policy_messages(req.messages)
        stop = (req.stop,) if isinstance(req.stop, str) else tuple(req.stop or ())
        max_new_tokens = req.max_completion_tokens or req.max_tokens or DEFAULT_MAX_TOKENS
        if context is not None and max_new_tokens > context:
            raise ClientError(
                f"max_tokens: {max_new_tokens} is more than the model's context of {context} tokens",
                param="max_tokens",
            )
        sampling = Sampling(
            temperature=req.temperature,
            top_p=req.top_p,
            max_new_tokens=max_new_tokens,
            stop=stop,
            seed=req.seed if req.seed is not None else secrets.randbits(31),
        )
        try:
            with lock:
                group = backend.generate([messages], req.n, sampling)[0]
        except FovealError as e:
            raise ClientError(str(e)) from None
        return chat_response(group, model_name, req.logprobs, tokenizer)

    return app


def chat_response(group, model_name: str, logprobs: bool, tokenizer=None) -> dict:
    """OpenAI's chat.completion object for one Group (plus vLLM's token_ids extensions)."""
    choices = []
    for i, c in enumerate(group.completions):
        choice: dict[str, Any] = {
            "index": i,
            "message": {"role": "assistant", "content": c.text},
            "finish_reason": c.finish_reason,
            "logprobs": None,
            "token_ids": list(c.token_ids),
        }
        if logprobs and c.logprobs is not None:
            tokens = [tokenizer.decode([t]) if tokenizer is not None else "" for t in c.token_ids]
            choice["logprobs"] = {
                "content": [
                    {"token": tok, "logprob": lp, "bytes": list(tok.encode("utf-8")), "top_logprobs": []}
                    for tok, lp in zip(tokens, c.logprobs, strict=True)
                ]
            }
        choices.append(choice)
    prompt_tokens = len(group.prompt_token_ids or [])
    completion_tokens = sum(len(c.token_ids) for c in group.completions)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_name,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "prompt_token_ids": list(group.prompt_token_ids) if group.prompt_token_ids is not None else None,
    }


@contextlib.contextmanager
def running(app, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` with uvicorn on a background thread; yields the API root "http://host:port/v1".

    port 0 picks a free port. The server stops when the block exits.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise FovealError(f"serve: cannot listen on {host}:{port}: {e}") from None
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="foveal-serve")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        if not server.started:
            raise RuntimeError(f"serve: the server on {host}:{sock.getsockname()[1]} did not start")
        yield f"http://{host}:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve(
    model_dir: str | os.PathLike,
    host: str = "127.0.0.1",
    port: int = 8000,
    model_name: str | None = None,
    api_key: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
) -> None:
    """Load `model_dir` (anything `load_policy` takes) and serve it until interrupted.

    model_name: the name clients send as `model` (default: `model_dir` as given, like vLLM).
    """
    require_server_packages()
    import uvicorn

    from foveal.models.load import load_policy

    policy = load_policy(model_dir, device=device, dtype=dtype)
    app = create_app(policy, model_name or str(model_dir), api_key=api_key)
    uvicorn.run(app, host=host, port=port, log_level="info")

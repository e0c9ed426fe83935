"""The HTTP side of `foveal serve`: a FastAPI app over a `Batcher`, and the ways to run it.

    app = create_app(policy, "tiny", max_batch=32)
    with running(app) as base_url:       # uvicorn on a background thread, port chosen freely
        ...                              # e.g. OpenAI(base_url=base_url, api_key="unused")

Each request is checked (JSON schema, model name, images, max_tokens) in the event loop, then
queued on the batcher; the handler awaits its completions without holding a thread, so many
requests wait at once and share `generate` calls. `stream: true` answers with server-sent
events as OpenAI does: a first chunk with the assistant role, chunks carrying the text added
by each step (`delta.content`, plus `token_ids` and, when asked, `logprobs` of those tokens),
a last chunk per choice with its `finish_reason`, a usage chunk when
`stream_options.include_usage`, then `data: [DONE]`. A full queue answers 429 with
`Retry-After`, which foveal's openai backend and the official client both honour.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from foveal.errors import FovealError
from foveal.serve import protocol
from foveal.serve.protocol import ChatRequest, ClientError

log = logging.getLogger("foveal.serve")


def require_server_packages() -> None:
    """FovealError with the install command when fastapi or uvicorn is missing."""
    import importlib.util

    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise FovealError(f"foveal serve needs {' and '.join(missing)}: pip install 'foveal[serve]'")


def create_app(
    policy: Any,
    model_name: str = "foveal",
    api_key: str | None = None,
    max_batch: int = 32,
    max_wait: float = 0.01,
    max_queue: int = 256,
):
    """The FastAPI app serving `policy` (a `foveal.models.Policy`), batching concurrent requests.

    api_key: when given, every /v1 request must carry `Authorization: Bearer <api_key>`.
    max_batch, max_wait, max_queue: the batcher's settings (see `foveal.serve.batcher`).
    `app.state.batcher` is the batcher; `running` closes it when the server stops.
    """
    require_server_packages()
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from foveal.serve.batcher import Batcher, Job, QueueFull

    if not all(hasattr(policy, a) for a in ("model", "tokenizer", "encode_prompts")):
        raise FovealError(f"serve: expected a foveal Policy (load_policy(...)), got {type(policy).__name__}")
    tokenizer, context = policy.tokenizer, policy.context_length
    batcher = Batcher(policy, max_batch=max_batch, max_wait=max_wait, max_queue=max_queue)
    app = FastAPI(title="foveal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.batcher = batcher
    created = int(time.time())

    @app.exception_handler(ClientError)
    async def _client_error(request: Request, e: ClientError):
        body = protocol.error_body(str(e), e.param, e.code)
        return JSONResponse(body, status_code=e.status, headers=e.headers)

    @app.exception_handler(QueueFull)
    async def _busy(request: Request, e: QueueFull):
        body = protocol.error_body(str(e), code="rate_limit_exceeded", kind="rate_limit_error")
        return JSONResponse(body, status_code=429, headers={"Retry-After": str(e.retry_after)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError):
        return JSONResponse(protocol.validation_error_body(e.errors()), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException):
        return JSONResponse(
            protocol.error_body(f"{request.method} {request.url.path}: {e.detail}"), status_code=e.status_code
        )

    @app.exception_handler(Exception)
    async def _internal(request: Request, e: Exception):
        log.exception("generation failed")
        body = protocol.error_body(f"internal error: {type(e).__name__}: {e}", kind="server_error")
        return JSONResponse(body, status_code=500)

    @app.middleware("http")
    async def _auth(request: Request, call_next):
        if api_key is not None and request.url.path.startswith("/v1"):
            if request.headers.get("authorization", "") != f"Bearer {api_key}":
                body = protocol.error_body(
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
    async def chat_completions(req: ChatRequest):
        job = make_job(req)
        loop = asyncio.get_running_loop()
        if req.stream:
            stream = Stream(loop, req, job, model_name, tokenizer, policy.eos_token_ids)
            batcher.submit(stream.job)
            first = await stream.queue.get()  # the first tokens, or the error of a prompt the model refuses
            if isinstance(first, FovealError):
                raise ClientError(str(first))
            return StreamingResponse(stream.events(first), media_type="text/event-stream")
        future = loop.create_future()
        job.done = lambda *a, **kw: loop.call_soon_threadsafe(_resolve, future, a, kw)
        batcher.submit(job)
        completions, prompt_ids = await future
        return protocol.chat_response(completions, prompt_ids, model_name, req.logprobs, tokenizer)

    def make_job(req: ChatRequest) -> Job:
        """The batcher's job for a request; ClientError for what the request itself gets wrong."""
        if req.model is not None and req.model != model_name:
            raise ClientError(
                f"The model {req.model!r} does not exist; this server serves {model_name!r}",
                status=404,
                param="model",
                code="model_not_found",
            )
        max_new_tokens = req.max_completion_tokens or req.max_tokens or protocol.DEFAULT_MAX_TOKENS
        if max_new_tokens > context:
            raise ClientError(
                f"max_tokens: {max_new_tokens} is more than the model's context of {context} tokens",
                param="max_tokens",
            )
        return Job(
            messages=protocol.to_policy_messages(req.messages),
            n=req.n,
            temperature=req.temperature,
            top_p=req.top_p,
            max_new_tokens=max_new_tokens,
            stop=(req.stop,) if isinstance(req.stop, str) else tuple(req.stop or ()),
            seed=req.seed if req.seed is not None else secrets.randbits(31),
            done=lambda *a, **kw: None,
        )

    return app


def _resolve(future: asyncio.Future, args: tuple, kwargs: dict) -> None:
    """Settle a request's future with the batcher's result (the client may have gone away)."""
    if future.done():
        return
    error = kwargs.get("error")
    if error is None:
        future.set_result(args)
    elif isinstance(error, FovealError):
        future.set_exception(ClientError(str(error)))
    else:
        future.set_exception(error)


class Stream:
    """One `stream: true` request: the job's tokens, step by step, as chunk dicts on an asyncio queue.

    The worker thread calls `on_token` and `done`; `events()` (in the event loop) yields the
    server-sent events. The response starts with the first tokens, so a prompt the model refuses
    (longer than its context) still gets a 400. A choice's streamed text is always a prefix of its final text: a step
    that ends inside a multi-byte character waits for the next, and `done` sends what is left.
    """

    def __init__(self, loop, req: ChatRequest, job, model_name: str, tokenizer, eos: list[int]) -> None:
        self.loop, self.queue = loop, asyncio.Queue()
        self.id, self.created, self.model_name = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), model_name
        self.tokenizer, self.eos, self.logprobs = tokenizer, set(eos), req.logprobs
        self.include_usage = bool(req.stream_options and req.stream_options.include_usage)
        self.job = job
        job.on_token, job.done = self.on_token, self.done
        n = job.n
        self.ids: list[list[int]] = [[] for _ in range(n)]
        self.lps: list[list[float]] = [[] for _ in range(n)]
        self.sent_text, self.sent_tokens, self.ended = [""] * n, [0] * n, [False] * n

    def on_token(self, choice: int, token: int, logprob: float) -> None:
        if self.ended[choice]:
            return
        ids = self.ids[choice]
        ids.append(token)
        self.lps[choice].append(logprob)
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        ended = token in self.eos or len(ids) >= self.job.max_new_tokens
        ended = ended or any(s in text for s in self.job.stop)
        self.ended[choice] = ended
        if not text.endswith("\ufffd"):
            self._send(choice, text, len(ids))

    def done(self, completions=None, prompt_ids=None, error=None) -> None:
        if error is not None:
            self._put(error)
            return
        for i, c in enumerate(completions):
            self.ids[i], self.lps[i] = list(c.token_ids), list(c.logprobs or [])
            self._send(i, c.text, len(c.token_ids))
            self._put(self._chunk([protocol.delta_choice(i, {}, finish_reason=c.finish_reason)]))
        if self.include_usage:
            used = sum(len(c.token_ids) for c in completions)
            self._put(self._chunk([], usage=protocol.usage(len(prompt_ids), used)))
        self._put(None)

    async def events(self, first: dict | Exception | None):
        """The server-sent events: the role chunk, `first` (already taken from the queue), the rest.

        An error after the response has started (the status is sent) becomes an `error` event."""
        role = [protocol.delta_choice(i, {"role": "assistant", "content": ""}) for i in range(self.job.n)]
        yield f"data: {json.dumps(self._chunk(role))}\n\n"
        item = first
        while item is not None:
            if isinstance(item, Exception):
                kind = "invalid_request_error" if isinstance(item, FovealError) else "server_error"
                yield f"data: {json.dumps(protocol.error_body(str(item), kind=kind))}\n\n"
                return
            yield f"data: {json.dumps(item)}\n\n"
            item = await self.queue.get()
        yield "data: [DONE]\n\n"

    def _send(self, choice: int, text: str, upto: int) -> None:
        """A chunk with the text and tokens of `choice` not sent yet (nothing if there are none)."""
        old = self.sent_text[choice]
        delta = text[len(old) :] if text.startswith(old) else ""
        start = self.sent_tokens[choice]
        tokens, lps = self.ids[choice][start:upto], self.lps[choice][start:upto]
        if not delta and not tokens:
            return
        self.sent_text[choice] = old + delta
        self.sent_tokens[choice] = max(start, upto)
        logprobs = protocol.token_logprobs(tokens, lps, self.tokenizer) if self.logprobs else None
        choice_ = protocol.delta_choice(choice, {"content": delta}, token_ids=tokens, logprobs=logprobs)
        self._put(self._chunk([choice_]))

    def _chunk(self, choices: list[dict], **extra: Any) -> dict:
        return protocol.chunk(self.id, self.model_name, choices, self.created, **extra)

    def _put(self, item: dict | Exception | None) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop closed: nobody is listening
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)


@contextlib.contextmanager
def running(app, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` with uvicorn on a background thread; yields the API root "http://host:port/v1".

    port 0 picks a free port. The server (and the app's batcher) stops when the block exits.
    """
    sock = bind(host, port)
    server, thread = start_uvicorn(app, sock, log_level="warning")
    try:
        yield f"http://{host}:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.state.batcher.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on host:port; FovealError naming the address if it is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise FovealError(f"serve: cannot listen on {host}:{port}: {e}") from None
    return sock


def start_uvicorn(app, sock: socket.socket, log_level: str):
    """uvicorn serving `app` on `sock` from a daemon thread; returns (server, thread) once it accepts."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="foveal-serve")
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        server.should_exit = True
        raise FovealError(f"serve: the server on {sock.getsockname()} did not start")
    return server, thread


def serve(
    model_dir: str | os.PathLike,
    host: str = "127.0.0.1",
    port: int = 8000,
    model_name: str | None = None,
    api_key: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    max_batch: int = 32,
    max_wait: float = 0.01,
    max_queue: int = 256,
) -> None:
    """Load `model_dir` (anything `load_policy` takes) once and serve it until interrupted.

    model_name: the name clients send as `model` (default: `model_dir` as given, like vLLM).
    Prints the time from the call to the first moment the server answers (time to ready).
    """
    start = time.perf_counter()
    require_server_packages()
    sock = bind(host, port)  # before the slow part: a taken port fails at once
    from foveal.models.load import load_policy

    policy = load_policy(model_dir, device=device, dtype=dtype)
    loaded = time.perf_counter() - start
    app = create_app(policy, model_name or str(model_dir), api_key, max_batch, max_wait, max_queue)
    server, thread = start_uvicorn(app, sock, log_level="info")
    print(
        f"foveal serve: {model_name or model_dir} ready at http://{host}:{sock.getsockname()[1]}/v1 "
        f"in {time.perf_counter() - start:.1f} s (model loaded in {loaded:.1f} s); "
        f"batches of up to {max_batch} sequences, queue of {max_queue}",
        flush=True,
    )
    try:
        while thread.is_alive():
            thread.join(timeout=0.5)
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join(timeout=10)
    finally:
        sock.close()
        app.state.batcher.close()

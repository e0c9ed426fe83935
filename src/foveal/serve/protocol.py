"""OpenAI's chat-completions API as plain data: the request model, error bodies, image decoding,
and the response objects (`chat.completion`, and `chat.completion.chunk` for `stream: true`).

Nothing here imports fastapi, torch or transformers; `foveal.serve.app` wires it to HTTP and
`foveal.serve.batcher` to the model.
"""

from __future__ import annotations

import base64
import binascii
import io
import time
import uuid
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from foveal.rollout.base import Completion

DEFAULT_MAX_TOKENS = 256
MAX_N = 64


class ClientError(Exception):
    """A request the server refuses: becomes an OpenAI-style error response with `status`."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.param, self.code, self.headers = status, param, code, headers


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


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
    stream_options: StreamOptions | None = None


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



def token_logprobs(token_ids: list[int], logprobs: list[float], tokenizer) -> dict:
    """OpenAI's `choices[i].logprobs` object for generated tokens."""
    tokens = [tokenizer.decode([t]) if tokenizer is not None else "" for t in token_ids]
    return {
        "content": [
            {"token": tok, "logprob": lp, "bytes": list(tok.encode("utf-8")), "top_logprobs": []}
            for tok, lp in zip(tokens, logprobs, strict=True)
        ]
    }


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def chat_response(
    completions: list[Completion],
    prompt_token_ids: list[int],
    model_name: str,
    logprobs: bool,
    tokenizer=None,
) -> dict:
    """OpenAI's chat.completion object (plus vLLM's `token_ids` and `prompt_token_ids` extensions)."""
    choices = []
    for i, c in enumerate(completions):
        choice: dict[str, Any] = {
            "index": i,
            "message": {"role": "assistant", "content": c.text},
            "finish_reason": c.finish_reason,
            "logprobs": None,
            "token_ids": list(c.token_ids),
        }
        if logprobs and c.logprobs is not None:
            choice["logprobs"] = token_logprobs(c.token_ids, c.logprobs, tokenizer)
        choices.append(choice)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_name,
        "choices": choices,
        "usage": usage(len(prompt_token_ids), sum(len(c.token_ids) for c in completions)),
        "prompt_token_ids": list(prompt_token_ids),
    }


def chunk(request_id: str, model_name: str, choices: list[dict], created: int, **extra: Any) -> dict:
    """One `chat.completion.chunk` of a streamed response (`choices` hold `delta`s)."""
    return {
        "id": request_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model_name,
        "choices": choices,
        **extra,
    }


def delta_choice(
    index: int,
    delta: dict,
    finish_reason: str | None = None,
    token_ids: list[int] | None = None,
    logprobs: dict | None = None,
) -> dict:
    """One choice of a chunk: the text (`delta.content`) added since the previous chunk."""
    return {
        "index": index,
        "delta": delta,
        "logprobs": logprobs,
        "finish_reason": finish_reason,
        "token_ids": token_ids or [],
    }

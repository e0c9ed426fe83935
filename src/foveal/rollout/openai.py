"""The `openai` backend: any OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp,
Ollama, `foveal serve`, OpenAI itself), spoken to over plain HTTP with httpx.

    backend = OpenAIBackend("http://127.0.0.1:8000/v1", model="tiny", cache_dir="runs/api-cache")
    groups = backend.generate(samples, n=4, sampling=Sampling(temperature=1.0, max_new_tokens=256))

One request per prompt (`n` completions each), at most `concurrency` in flight. A Sample
becomes a system message (the R1 prompt) and a user turn whose content interleaves text
parts and `image_url` parts (base64 PNG data URLs) in prompt order; with `text_only=True`,
or for a text-form sample, the user turn is the text twin. Ready-made `messages` pass
through, with any PIL images in them turned into data URLs.

Failures: 429, 5xx and connection errors are retried up to `max_retries` times, waiting
`min(max_backoff, backoff * 2**attempt)` times a uniform jitter in [0.5, 1], or the server's
`Retry-After` when it sends one (both capped at `max_backoff`). 401/403 (bad key), 404 (wrong URL or model) and other 4xx
raise a FovealError at once, naming the URL and the model.

Cache: with `cache_dir`, each response is stored under the hash of (URL, request body), so
a rerun of the same prompts with the same sampling (seed included) makes no request at all.
"""

from __future__ import annotations

import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from PIL import Image

from foveal.errors import FovealError
from foveal.prompts import R1_SYSTEM_PROMPT
from foveal.rollout.base import Completion, Group, Prompt, Sampling
from foveal.rollout.cache import ResponseCache, request_key
from foveal.sample import IMAGE_TOKEN, Sample, png_b64

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


def data_url(image: Image.Image) -> str:
    """A PIL image as a `data:image/png;base64,...` URL (deterministic PNG bytes)."""
    return f"data:image/png;base64,{png_b64(image)}"


def sample_messages(
    sample: Sample, system_prompt: str | None = R1_SYSTEM_PROMPT, text_only: bool = False
) -> list[dict]:
    """OpenAI chat messages for a Sample: optional system message, then the user turn.

    The user content is the prompt split at each `<image>` into text and `image_url` parts, in
    order; a text-form sample (no images) or `text_only` gives the text twin as a plain string.
    """
    msgs: list[dict] = [{"role": "system", "content": system_prompt}] if system_prompt else []
    if text_only or not sample.images:
        text = sample.as_text().prompt if text_only else sample.prompt
        if not text:
            raise FovealError(f"sample {sample.id}: no text twin to send as a text-only prompt")
        msgs.append({"role": "user", "content": text})
        return msgs
    parts: list[dict] = []
    for i, piece in enumerate(sample.prompt.split(IMAGE_TOKEN)):
        if i > 0:
            parts.append({"type": "image_url", "image_url": {"url": data_url(sample.images[i - 1])}})
        if piece.strip():
            parts.append({"type": "text", "text": piece.strip()})
    msgs.append({"role": "user", "content": parts})
    return msgs


def openai_messages(messages: list[dict]) -> list[dict]:
    """Ready messages with HF-style image parts ({"type": "image", "image": PIL}) as `image_url` parts."""
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            parts = []
            for part in content:
                image = part.get("image") if isinstance(part, dict) else None
                if isinstance(image, Image.Image):
                    parts.append({"type": "image_url", "image_url": {"url": data_url(image.convert("RGB"))}})
                else:
                    parts.append(part)
            m = {**m, "content": parts}
        out.append(m)
    return out


def retry_after_seconds(value: str | None) -> float | None:
    """The wait a `Retry-After` header asks for: delta-seconds or an HTTP date; None if absent/unparseable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class OpenAIBackend:
    """Generation through an OpenAI-compatible `/chat/completions` endpoint.

    base_url: the API root, e.g. "http://127.0.0.1:8000/v1" or "https://api.openai.com/v1".
    model: the served model's name (`GET {base_url}/models` lists them).
    api_key: sent as a Bearer token; default `$OPENAI_API_KEY`, none if unset.
    concurrency: requests in flight at once.
    max_retries: retries after the first try on 429/5xx/connection errors.
    backoff, max_backoff: seconds; the wait before retry k is min(max_backoff, backoff * 2**k) * U(0.5, 1).
    cache_dir: directory of the response cache (None: no cache).
    timeout: seconds per request (connect, read and write each).
    text_only: send every Sample as its text twin (for text-only models).
    system_prompt: system message before each Sample (None: none).
    logprobs: ask for per-token log-probs (`logprobs: true`); filled into `Completion.logprobs`
        when the server returns them.
    extra_body: more request fields, e.g. {"top_k": 20} or vLLM's {"return_token_ids": True}.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        concurrency: int = 8,
        max_retries: int = 6,
        cache_dir: str | os.PathLike | None = None,
        timeout: float = 120.0,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        text_only: bool = False,
        system_prompt: str | None = R1_SYSTEM_PROMPT,
        logprobs: bool = False,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise FovealError(f"openai backend: base_url {base_url!r} must start with http:// or https://")
        if concurrency < 1:
            raise FovealError(f"openai backend: concurrency must be >= 1, got {concurrency}")
        if max_retries < 0:
            raise FovealError(f"openai backend: max_retries must be >= 0, got {max_retries}")
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.text_only = text_only
        self.system_prompt = system_prompt
        self.logprobs = logprobs
        self.extra_body = dict(extra_body or {})
        self.cache = ResponseCache(cache_dir) if cache_dir is not None else None
        self.requests_sent = 0  # HTTP requests actually made (retries included; cache hits excluded)
        self._count_lock = threading.Lock()
        api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    # -- the protocol ------------------------------------------------------------------
    def generate(self, prompts: list[Prompt], n: int = 1, sampling: Sampling = Sampling()) -> list[Group]:
        """One Group of `n` completions per prompt, in prompt order."""
        if n < 1:
            raise FovealError(f"openai backend: n must be >= 1, got {n}")
        bodies = [self.request_body(p, n, sampling) for p in prompts]
        if self.concurrency == 1 or len(bodies) <= 1:
            responses = [self.complete(b) for b in bodies]
        else:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(bodies))) as pool:
                responses = list(pool.map(self.complete, bodies))
        return [self._group(p, i, r, n, tuple(sampling.stop or ())) for i, (p, r) in enumerate(zip(prompts, responses, strict=True))]

    def request_body(self, prompt: Prompt, n: int, sampling: Sampling) -> dict[str, Any]:
        """The JSON body of the chat-completions request for one prompt."""
        if isinstance(prompt, Sample):
            messages = sample_messages(prompt, self.system_prompt, self.text_only)
        else:
            messages = openai_messages(list(prompt))
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "n": n,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_new_tokens,
            "seed": sampling.seed,
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if self.logprobs:
            body["logprobs"] = True
        body.update(self.extra_body)
        return body

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST one request (cache first, then with retries); the parsed JSON response."""
        key = request_key(self.url, body) if self.cache is not None else ""
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return hit
        response = self._post_with_retries(body)
        if self.cache is not None:
            self.cache.put(key, response)
        return response

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAIBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP --------------------------------------------------------------------------
    def _post_with_retries(self, body: dict[str, Any]) -> dict[str, Any]:
        where = f"{self.url} (model {self.model!r})"
        last = ""
        for attempt in range(self.max_retries + 1):
            with self._count_lock:
                self.requests_sent += 1
            try:
                r = self._client.post(self.url, json=body)
            except httpx.TransportError as e:
                last = f"{type(e).__name__}: {e}"
                wait = None
            else:
                if r.status_code == 200:
                    try:
                        data = r.json()
                    except ValueError:
                        raise FovealError(
                            f"{where} answered 200 with a body that is not JSON: {r.text[:200]!r}"
                        ) from None
                    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
                        raise FovealError(f"{where} answered 200 without a 'choices' list: {r.text[:200]!r}")
                    return data
                message = _error_message(r)
                if r.status_code in (401, 403):
                    raise FovealError(
                        f"{where} refused the request ({r.status_code}): {message}. "
                        "Check the API key (api_key= or $OPENAI_API_KEY)."
                    )
                if r.status_code == 404:
                    raise FovealError(
                        f"{where} answered 404: {message}. Check the base URL (it usually ends in /v1) and "
                        f"the model name (GET {self.base_url}/models lists the served ones)."
                    )
                if r.status_code not in RETRY_STATUS and r.status_code < 500:
                    raise FovealError(f"{where} rejected the request ({r.status_code}): {message}")
                last = f"HTTP {r.status_code}: {message}"
                wait = retry_after_seconds(r.headers.get("retry-after"))
            if attempt == self.max_retries:
                break
            if wait is None:
                wait = min(self.max_backoff, self.backoff * 2**attempt) * random.uniform(0.5, 1.0)
            time.sleep(min(wait, self.max_backoff))
        raise FovealError(f"{where} failed after {self.max_retries + 1} tries; last error: {last}")

    # -- parsing -----------------------------------------------------------------------
    def _group(self, prompt: Prompt, index: int, response: dict[str, Any], n: int, stop: tuple[str, ...] = ()) -> Group:
        pid = prompt.id if isinstance(prompt, Sample) else str(index)
        choices = sorted(response["choices"], key=lambda c: c.get("index", 0))
        if len(choices) < n:
            raise FovealError(
                f"{self.url} (model {self.model!r}) returned {len(choices)} choices for prompt {pid}, asked for n={n}; "
                "the server may not support n > 1"
            )
        return Group(
            prompt_id=pid,
            completions=[_completion(c, stop) for c in choices[:n]],
            prompt_token_ids=response.get("prompt_token_ids"),
        )


def restore_stop(text: str, finish: str, stop_reason: Any, stop: tuple[str, ...]) -> str:
    """The completion text with the stop string that ended it, as the hf and vLLM backends return it.

    OpenAI-compatible servers cut the matched stop string off the text, so a completion stopped at
    `</answer>` would lose the tag that strict answer formats require. Restored when the server says
    which string matched (vLLM's `stop_reason`), else when the text leaves a tag open that a requested
    closing-tag stop string closes (`<answer>4` + `</answer>`): an answer tag is never invented for a
    completion that did not open one. A text that already ends with a stop string is kept.
    """
    if finish != "stop" or not stop or any(text.endswith(s) for s in stop):
        return text
    if stop_reason is not None:
        return text + stop_reason if isinstance(stop_reason, str) and stop_reason in stop else text
    for s in stop:
        if s.startswith("</") and s.endswith(">") and text.rfind("<" + s[2:]) > text.rfind(s):
            return text + s
    return text


def _completion(choice: dict[str, Any], stop: tuple[str, ...] = ()) -> Completion:
    """A Completion from one response choice (logprobs and vLLM-style `token_ids` when present); the
    stop string the server cut off is put back (`restore_stop`)."""
    message = choice.get("message") or {}
    content = message.get("content") or ""
    if isinstance(content, list):  # some servers return content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    lp = (choice.get("logprobs") or {}).get("content")
    logprobs = [float(t["logprob"]) for t in lp] if lp else None
    finish = choice.get("finish_reason") or "stop"
    content = restore_stop(content, finish, choice.get("stop_reason"), stop)
    return Completion(
        text=content,
        token_ids=[int(t) for t in choice.get("token_ids") or []],
        logprobs=logprobs,
        finish_reason="length" if finish == "length" else "stop",
    )


def _error_message(r: httpx.Response) -> str:
    """The server's error text: OpenAI's {"error": {"message": ...}}, FastAPI's {"detail": ...}, or raw."""
    try:
        data = r.json()
    except ValueError:
        return r.text[:300].strip() or r.reason_phrase
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if "detail" in data:
            return str(data["detail"])
        if "message" in data:
            return str(data["message"])
    return str(data)[:300]

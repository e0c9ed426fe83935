"""`foveal serve` for real: the tiny VLM behind uvicorn on 127.0.0.1, driven by foveal's openai
backend, the official `openai` client (sync and async, streaming) and raw HTTP. No mocks.

Batching is observed, not timed: `Batcher.hold()` queues requests without starting a call, so a
test knows which requests shared one `generate`; `batch_sizes` records every call."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from foveal import tasks
from foveal.errors import FovealError
from foveal.models import build_tiny_vlm, load_policy
from foveal.rollout.base import Sampling
from foveal.rollout.hf import HFBackend
from foveal.rollout.openai import OpenAIBackend, data_url
from foveal.serve import create_app, running
from foveal.serve.batcher import Job, generate_jobs

SMALL = {"text_layers": 2, "vision_depth": 1}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("serve") / "tiny"
    build_tiny_vlm(out, seed=0, **SMALL)
    return out


@pytest.fixture(scope="module")
def policy(model_dir):
    return load_policy(model_dir, device="cpu")


@pytest.fixture(scope="module")
def server(policy):
    """(base_url, hits): the app serving the tiny VLM, and a list counting completion requests."""
    app = create_app(policy, "tiny")
    hits: list[str] = []

    @app.middleware("http")
    async def count(request, call_next):
        if request.url.path.endswith("/chat/completions"):
            hits.append(request.url.path)
        return await call_next(request)

    with running(app) as url:
        yield url, hits


def count_sample(seed=0):
    return tasks.get("count").generate(seed, 1)


def test_openai_backend_round_trip_matches_in_process_generation(server, policy):
    url, _ = server
    sample = count_sample()
    # greedy: the same tokens and log-probs as the in-process hf backend
    greedy = Sampling(temperature=0.0, max_new_tokens=12)
    with OpenAIBackend(url, "tiny", logprobs=True) as backend:
        (g,) = backend.generate([sample], n=1, sampling=greedy)
    (ref,) = HFBackend(policy).generate([sample], n=1, sampling=greedy)
    # the image travelled as a PNG data URL and was decoded to the same pixels: identical prompts
    assert g.prompt_id == sample.id and g.prompt_token_ids == ref.prompt_token_ids
    image_pad = policy.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert g.prompt_token_ids.count(image_pad) > 0
    assert g.completions[0].token_ids == ref.completions[0].token_ids
    assert g.completions[0].logprobs == pytest.approx(ref.completions[0].logprobs, abs=1e-5)
    # sampled: the same completions as the batcher's generate run in-process with the same seed
    sampling = Sampling(temperature=1.0, max_new_tokens=12, seed=3)
    with OpenAIBackend(url, "tiny", logprobs=True) as backend:
        (g,) = backend.generate([sample], n=3, sampling=sampling)
    job = Job(policy.messages(sample), 3, 1.0, 1.0, 12, (), 3, done=None)
    ((ref_completions, prompt_ids),) = generate_jobs(policy, [job])
    assert g.prompt_token_ids == prompt_ids
    assert [c.token_ids for c in g.completions] == [c.token_ids for c in ref_completions]
    assert [c.finish_reason for c in g.completions] == [c.finish_reason for c in ref_completions]
    assert len({tuple(c.token_ids) for c in g.completions}) == 3  # each choice has its own stream
    for c, r in zip(g.completions, ref_completions, strict=True):
        assert len(c.logprobs) == len(c.token_ids) > 0
        assert c.logprobs == pytest.approx(r.logprobs, abs=1e-5)
        assert c.text == policy.tokenizer.decode(c.token_ids, skip_special_tokens=True)


def test_official_openai_client(server, policy):
    url, _ = server
    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["tiny"]
    sample = count_sample(1)
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": data_url(sample.images[0])}},
                {"type": "text", "text": "How many circles?"},
            ],
        }
    ]
    kw = dict(model="tiny", messages=messages, n=2, max_tokens=8, seed=5, temperature=1.0, logprobs=True)
    r = client.chat.completions.create(**kw)
    assert r.object == "chat.completion" and r.model == "tiny" and len(r.choices) == 2
    assert [c.index for c in r.choices] == [0, 1]
    for c in r.choices:
        assert c.message.role == "assistant" and c.finish_reason in ("stop", "length")
        assert len(c.logprobs.content) == len(c.model_extra["token_ids"]) > 0
        assert all(t.logprob <= 0 for t in c.logprobs.content)
    assert r.usage.completion_tokens == sum(len(c.model_extra["token_ids"]) for c in r.choices)
    assert r.usage.prompt_tokens == len(r.model_extra["prompt_token_ids"]) > 0
    again = client.chat.completions.create(**kw)  # same seed, same completions
    assert [c.message.content for c in again.choices] == [c.message.content for c in r.choices]
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(**{**kw, "model": "gpt-nothing"})
    with pytest.raises(openai.BadRequestError, match="content"):
        client.chat.completions.create(
            **{**kw, "messages": [{"role": "user", "content": [{"type": "audio"}]}]}
        )


def test_cache_hit_on_rerun_makes_no_request(server, tmp_path):
    url, hits = server
    samples = [count_sample(s) for s in range(3)]
    sampling = Sampling(max_new_tokens=6, seed=7)
    before = len(hits)
    first = OpenAIBackend(url, "tiny", cache_dir=tmp_path, concurrency=3).generate(samples, 2, sampling)
    assert len(hits) == before + 3
    rerun = OpenAIBackend(url, "tiny", cache_dir=tmp_path)
    second = rerun.generate(samples, 2, sampling)
    assert len(hits) == before + 3 and rerun.requests_sent == 0
    assert [[c.token_ids for c in g.completions] for g in second] == [
        [c.token_ids for c in g.completions] for g in first
    ]


def test_client_errors_are_openai_style_400s(server):
    url, _ = server
    post = lambda **kw: httpx.post(f"{url}/chat/completions", timeout=30, **kw)  # noqa: E731
    user = lambda content: {"messages": [{"role": "user", "content": content}]}  # noqa: E731
    cases = [
        (post(json={"model": "tiny"}), 400, "messages"),
        (post(json={"messages": []}), 400, "messages"),
        (post(content=b"{not json", headers={"content-type": "application/json"}), 400, "not valid JSON"),
        (
            post(json=user([{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}])),
            400,
            "cannot decode image",
        ),
        (
            post(json=user([{"type": "image_url", "image_url": {"url": "data:image/png;base64,%%%"}}])),
            400,
            "not valid base64",
        ),
        (
            post(json=user([{"type": "image_url", "image_url": {"url": "http://example.com/a.png"}}])),
            400,
            "not a base64 data URL",
        ),
        (post(json={**user("hi"), "n": 0}), 400, "n:"),
        (post(json={**user("two " * 3000)}), 400, "longer than"),
        (post(json={**user("two " * 3000), "stream": True}), 400, "longer than"),
        (post(json={**user("hi"), "max_tokens": 10**6}), 400, "max_tokens: 1000000 is more than"),
        (post(json={**user("hi"), "model": "other"}), 404, "does not exist"),
        (httpx.get(f"{url}/nowhere"), 404, "Not Found"),
    ]
    for r, status, needle in cases:
        assert r.status_code == status, r.text
        err = r.json()["error"]
        assert needle in err["message"] and err["type"] == "invalid_request_error", err
    bad_image = cases[3][0].json()["error"]
    assert bad_image["param"] == "messages[0].content[0]"


def test_api_key_and_unknown_model_errors_through_the_backend(policy):
    with running(create_app(policy, "tiny", api_key="s3cret")) as url:
        with pytest.raises(FovealError, match="API key"):
            OpenAIBackend(url, "tiny", api_key="wrong").generate(
                [count_sample()], 1, Sampling(max_new_tokens=2)
            )
        with pytest.raises(FovealError, match=r"404.*'nope' does not exist"):
            OpenAIBackend(url, "nope", api_key="s3cret").generate(
                [count_sample()], 1, Sampling(max_new_tokens=2)
            )
        (g,) = OpenAIBackend(url, "tiny", api_key="s3cret").generate(
            [count_sample()], 1, Sampling(max_new_tokens=2)
        )
        assert len(g.completions[0].token_ids) >= 1
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url, api_key="wrong", max_retries=0).models.list()


def image_messages(sample, text="How many circles?"):
    return [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": data_url(sample.images[0])}},
                {"type": "text", "text": text},
            ],
        }
    ]


def wait_for(condition, what: str, limit: float = 120.0) -> None:
    """Poll until `condition()` holds (a bound on a hang, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def test_concurrent_requests_share_one_generate_and_get_their_solo_completions(policy):
    """Requests with different n, temperature, top_p, seed, max_tokens and prompts run in one
    generate call, and each gets exactly the completions it gets when served alone."""
    app = create_app(policy, "tiny")
    batcher = app.state.batcher
    requests = [
        dict(messages=image_messages(count_sample(0)), n=1, temperature=1.0, seed=1, max_tokens=9),
        dict(messages=image_messages(count_sample(1), "Count."), n=3, temperature=0.7, seed=2, max_tokens=5),
        dict(messages=[{"role": "user", "content": "hello there"}], n=2, temperature=0.0, max_tokens=7),
        dict(messages=image_messages(count_sample(2)), n=2, temperature=1.0, top_p=0.5, seed=4, max_tokens=12),
    ]

    async def ask(client, kw):
        r = await client.chat.completions.create(model="tiny", logprobs=True, **kw)
        return [(c.model_extra["token_ids"], c.message.content, c.finish_reason) for c in r.choices]

    async def scenario(url):
        async with openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0) as client:
            solo = [await ask(client, kw) for kw in requests]
            before = len(batcher.batch_sizes)
            with batcher.hold():
                pending = [asyncio.create_task(ask(client, kw)) for kw in requests]
                deadline = time.monotonic() + 120
                while len(batcher.pending) < len(requests):
                    assert time.monotonic() < deadline, "requests did not reach the queue"
                    await asyncio.sleep(0.01)
            together = await asyncio.gather(*pending)
            return solo, together, batcher.batch_sizes[before:]

    with running(app) as url:
        solo, together, sizes = asyncio.run(scenario(url))
    assert sizes == [len(requests)]  # one generate call served all four
    assert together == solo
    assert [len(s) for s in solo] == [1, 3, 2, 2]
    assert [len(ids) for ids, _, _ in solo[1]] == [5, 5, 5] or any(f == "stop" for _, _, f in solo[1])
    assert all(len(ids) <= 12 for ids, _, _ in solo[3]) and len({tuple(x[0]) for x in solo[3]}) == 2


def test_stream_sends_the_same_completion_in_chunks(server):
    url, _ = server
    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
    kw = dict(model="tiny", messages=image_messages(count_sample(3)), n=2, max_tokens=10, seed=11, logprobs=True)
    full = client.chat.completions.create(**kw)
    chunks = list(client.chat.completions.create(**kw, stream=True, stream_options={"include_usage": True}))
    assert {c.object for c in chunks} == {"chat.completion.chunk"} and len({c.id for c in chunks}) == 1
    text, ids, logprobs, finish, roles = ({0: [], 1: []} for _ in range(5))
    for chunk in chunks:
        for c in chunk.choices:
            roles[c.index] += [c.delta.role] if c.delta.role else []
            text[c.index].append(c.delta.content or "")
            ids[c.index] += c.model_extra["token_ids"]
            logprobs[c.index] += [t.logprob for t in (c.logprobs.content if c.logprobs else [])]
            finish[c.index] += [c.finish_reason] if c.finish_reason else []
    for c in full.choices:
        assert roles[c.index] == ["assistant"]
        assert "".join(text[c.index]) == c.message.content
        assert ids[c.index] == c.model_extra["token_ids"]
        assert logprobs[c.index] == pytest.approx([t.logprob for t in c.logprobs.content], abs=1e-6)
        assert finish[c.index] == [c.finish_reason]
        assert sum(1 for t in text[c.index] if t) > 2  # incremental: several pieces, not one blob
    assert chunks[-1].usage.completion_tokens == full.usage.completion_tokens
    assert chunks[-1].usage.prompt_tokens == full.usage.prompt_tokens


def test_32_concurrent_requests_from_the_async_client_all_succeed(policy):
    """A quarter streamed, half with n=2: every request answered in full, in shared calls."""
    app = create_app(policy, "tiny")

    async def one(client, k):
        kw = dict(model="tiny", messages=image_messages(count_sample(k)), max_tokens=8, n=1 + k % 2)
        if k % 4 == 3:
            stream = await client.chat.completions.create(**kw, stream=True)
            pieces = {}
            async for chunk in stream:
                for c in chunk.choices:
                    pieces.setdefault(c.index, []).append(c.finish_reason)
            return {i: [f for f in fs if f] for i, fs in pieces.items()}
        r = await client.chat.completions.create(**kw)
        return {c.index: [c.finish_reason] for c in r.choices}

    async def main(url):
        async with openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0) as client:
            return await asyncio.gather(*[one(client, k) for k in range(32)])

    with running(app) as url:
        results = asyncio.run(main(url))
    sizes = app.state.batcher.batch_sizes
    assert len(results) == 32 and sum(sizes) == 32 and len(sizes) < 32
    for k, r in enumerate(results):
        assert sorted(r) == list(range(1 + k % 2)), r
        assert all(len(f) == 1 and f[0] in ("stop", "length") for f in r.values()), r


def test_full_queue_answers_429_with_retry_after_and_the_backend_retries(policy):
    app = create_app(policy, "tiny", max_queue=2)
    batcher, statuses = app.state.batcher, []

    @app.middleware("http")
    async def record(request, call_next):
        response = await call_next(request)
        statuses.append(response.status_code)
        return response

    body = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
    with running(app) as url, ThreadPoolExecutor(4) as pool:
        post = lambda: httpx.post(f"{url}/chat/completions", json=body, timeout=120)  # noqa: E731
        with batcher.hold():
            queued = [pool.submit(post) for _ in range(2)]
            wait_for(lambda: len(batcher.pending) == 2, "two queued requests")
            r = post()
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
            err = r.json()["error"]
            assert err["code"] == "rate_limit_exceeded" and "queue is full" in err["message"]
        assert [f.result().status_code for f in queued] == [200, 200]

        # foveal's openai backend waits the Retry-After and tries again: every prompt is served
        backend = OpenAIBackend(url, "tiny", concurrency=4, max_retries=20, max_backoff=2)
        samples = [count_sample(s) for s in range(4)]
        statuses.clear()
        with batcher.hold():
            groups = pool.submit(backend.generate, samples, 1, Sampling(max_new_tokens=3))
            wait_for(lambda: statuses.count(429) >= 2, "two requests turned away")
        assert [g.prompt_id for g in groups.result()] == [s.id for s in samples]
        assert backend.requests_sent >= 6 and statuses.count(200) == 4
    backend.close()


@pytest.mark.slow
def test_foveal_serve_command(model_dir):
    """`foveal serve DIR --port P` in a subprocess answers /v1/models and a completion."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = os.path.join(os.path.dirname(sys.executable), "foveal")
    proc = subprocess.Popen(
        [exe, "serve", str(model_dir), "--port", str(port), "--name", "tiny"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                models = httpx.get(f"{url}/models", timeout=2).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "foveal serve did not start within 60 s"
                time.sleep(0.2)
        assert [m["id"] for m in models["data"]] == ["tiny"]
        png = base64.b64encode(b"not a png").decode()
        r = httpx.post(
            f"{url}/chat/completions",
            json={
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}}
                        ],
                    }
                ]
            },
            timeout=30,
        )
        assert r.status_code == 400 and "cannot decode image" in r.json()["error"]["message"]
        (g,) = OpenAIBackend(url, "tiny").generate([count_sample()], 2, Sampling(max_new_tokens=4))
        assert len(g.completions) == 2
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"tiny ready at http://127.0.0.1:{port}/v1 in " in out  # time to ready is printed

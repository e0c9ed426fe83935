"""`foveal serve` for real: the tiny VLM behind uvicorn on 127.0.0.1, driven by foveal's openai
backend, the official `openai` client and raw HTTP. No mocks."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time

import httpx
import openai
import pytest

from foveal import tasks
from foveal.errors import FovealError
from foveal.models import build_tiny_vlm, load_policy
from foveal.models.serve import create_app, running
from foveal.rollout.base import Sampling
from foveal.rollout.hf import HFBackend
from foveal.rollout.openai import OpenAIBackend, data_url

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
    sampling = Sampling(temperature=1.0, max_new_tokens=12, seed=3)
    with OpenAIBackend(url, "tiny", logprobs=True) as backend:
        (g,) = backend.generate([sample], n=3, sampling=sampling)
    (ref,) = HFBackend(policy).generate([sample], n=3, sampling=sampling)
    # the image travelled as a PNG data URL and was decoded to the same pixels: identical samples
    assert g.prompt_id == sample.id and g.prompt_token_ids == ref.prompt_token_ids
    image_pad = policy.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert g.prompt_token_ids.count(image_pad) > 0
    assert [c.token_ids for c in g.completions] == [c.token_ids for c in ref.completions]
    assert [c.text for c in g.completions] == [c.text for c in ref.completions]
    assert [c.finish_reason for c in g.completions] == [c.finish_reason for c in ref.completions]
    for c, r in zip(g.completions, ref.completions, strict=True):
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
        (post(json={**user("hi"), "stream": True}), 400, "streaming"),
        (post(json={**user("two " * 3000)}), 400, "longer than"),
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
        proc.wait(timeout=20)

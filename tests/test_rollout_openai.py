"""The openai backend against real localhost HTTP servers (http.server in a thread, no mocks).

A scripted server answers each request from a list of (status, headers, body) and records what it
received, so retries, Retry-After, errors, the cache and the concurrency limit are observed on the
wire. The round trip with a real model is in test_serve.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from foveal.errors import FovealError
from foveal.rollout.base import Sampling
from foveal.rollout.cache import ResponseCache, request_key
from foveal.rollout.openai import OpenAIBackend, retry_after_seconds, sample_messages
from foveal.sample import Sample, b64_image


def completion_body(request: dict) -> dict:
    """A valid chat.completion echoing the last user text, `n` choices, with logprobs."""
    content = request["messages"][-1]["content"]
    text = (
        content if isinstance(content, str) else " ".join(p["text"] for p in content if p["type"] == "text")
    )
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": request["model"],
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": f"{i}:{text}"},
                "finish_reason": "length" if i else "stop",
                "logprobs": {"content": [{"token": "a", "logprob": -0.5, "bytes": [97], "top_logprobs": []}]},
                "token_ids": [7, i],
            }
            for i in range(request.get("n", 1))
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


class Scripted:
    """A real HTTP server: request k gets script[k] (the last entry repeats); None means a 200 echo."""

    def __init__(self, script=(None,), delay: float = 0.0):
        self.script, self.delay = list(script), delay
        self.bodies: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    step = outer.script[min(len(outer.bodies), len(outer.script) - 1)]
                    outer.bodies.append(
                        {"path": self.path, "auth": self.headers.get("Authorization"), **body}
                    )
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                time.sleep(outer.delay)
                with outer.lock:  # before the reply leaves: a client that has it may already send the next
                    outer.in_flight -= 1
                status, headers, payload = (200, {}, completion_body(body)) if step is None else step
                data = json.dumps(payload).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted():
    servers = []

    def make(script=(None,), delay=0.0):
        servers.append(Scripted(script, delay))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def image_sample(seed: int = 0) -> Sample:
    red = Image.new("RGB", (16, 16), (255, 0, 0))
    blue = Image.new("RGB", (8, 8), (0, 0, 255))
    return Sample(
        id=f"toy/L1/s{seed}",
        task="toy",
        level=1,
        seed=seed,
        prompt=f"First <image> then <image> which is red? ({seed})",
        images=(red, blue),
        answer="A",
        answer_type="choice",
        choices=("first", "second"),
        text_twin="A red square, then a blue square. Which is red?",
    )


def backend(url, **kw) -> OpenAIBackend:
    return OpenAIBackend(url, model="toy-model", api_key="sk-test", backoff=0.01, **kw)


def err(e: pytest.ExceptionInfo) -> str:
    return str(e.value)


# -- request building -------------------------------------------------------------------
def test_sample_messages_interleave_images_in_prompt_order():
    s = image_sample()
    msgs = sample_messages(s)
    assert msgs[0]["role"] == "system" and "<answer>" in msgs[0]["content"]
    parts = msgs[1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text"]
    assert [p["text"] for p in parts if p["type"] == "text"] == ["First", "then", "which is red? (0)"]
    decoded = [b64_image(p["image_url"]["url"].split(",", 1)[1]) for p in parts if p["type"] == "image_url"]
    assert [im.size for im in decoded] == [(16, 16), (8, 8)]
    assert decoded[0].getpixel((0, 0)) == (255, 0, 0) and decoded[1].getpixel((0, 0)) == (0, 0, 255)
    # text form and text_only both give the twin as a plain string, no images
    assert sample_messages(s.as_text(), system_prompt=None) == [{"role": "user", "content": s.text_twin}]
    assert sample_messages(s, text_only=True)[1]["content"] == s.text_twin


def test_request_body_carries_sampling(scripted):
    srv = scripted()
    b = backend(srv.url, logprobs=True, extra_body={"top_k": 5})
    groups = b.generate(
        [image_sample()],
        n=3,
        sampling=Sampling(temperature=0.7, top_p=0.9, max_new_tokens=12, stop=("</answer>",), seed=11),
    )
    sent = srv.bodies[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer sk-test"
    assert (
        sent["model"],
        sent["n"],
        sent["temperature"],
        sent["top_p"],
        sent["max_tokens"],
        sent["seed"],
    ) == ("toy-model", 3, 0.7, 0.9, 12, 11)
    assert sent["stop"] == ["</answer>"] and sent["logprobs"] is True and sent["top_k"] == 5
    (g,) = groups
    assert g.prompt_id == "toy/L1/s0" and len(g.completions) == 3
    assert [c.text for c in g.completions] == [f"{i}:First then which is red? (0)" for i in range(3)]
    assert [c.finish_reason for c in g.completions] == ["stop", "length", "length"]
    assert g.completions[2].token_ids == [7, 2] and g.completions[0].logprobs == [-0.5]


def test_ready_messages_with_pil_images_become_data_urls(scripted):
    srv = scripted()
    im = Image.new("RGB", (4, 4), (0, 255, 0))
    msgs = [
        {"role": "user", "content": [{"type": "image", "image": im}, {"type": "text", "text": "colour?"}]}
    ]
    (g,) = backend(srv.url).generate([msgs], n=1, sampling=Sampling())
    part = srv.bodies[0]["messages"][0]["content"][0]
    assert part["type"] == "image_url" and part["image_url"]["url"].startswith("data:image/png;base64,")
    assert g.prompt_id == "0" and g.completions[0].text == "0:colour?"


# -- retries and errors -------------------------------------------------------------------
def test_retries_429_and_503_then_succeeds(scripted):
    srv = scripted(
        [
            (429, {"Retry-After": "0"}, {"error": {"message": "slow down"}}),
            (503, {}, {"detail": "busy"}),
            None,
        ]
    )
    b = backend(srv.url)
    (g,) = b.generate([image_sample()], n=2, sampling=Sampling())
    assert len(srv.bodies) == 3 and b.requests_sent == 3
    assert srv.bodies[0] == srv.bodies[2]  # the retried request is the same request
    assert len(g.completions) == 2


def test_retries_exhausted_names_url_and_last_error(scripted):
    srv = scripted([(503, {}, {"error": {"message": "overloaded"}})])
    with pytest.raises(FovealError) as e:
        backend(srv.url, max_retries=2).generate([image_sample()], 1, Sampling())
    assert len(srv.bodies) == 3
    assert srv.url in err(e) and "3 tries" in err(e) and "503" in err(e) and "overloaded" in err(e)


def test_retry_after_is_honoured(scripted):
    srv = scripted([(429, {"Retry-After": "0.3"}, {"error": {"message": "rate"}}), None])
    t0 = time.monotonic()
    backend(srv.url).generate([image_sample()], 1, Sampling())
    assert len(srv.bodies) == 2 and time.monotonic() - t0 >= 0.3


def test_retry_after_parsing():
    assert retry_after_seconds("2") == 2.0 and retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait


@pytest.mark.parametrize(
    "status,needle",
    [(401, "API key"), (403, "API key"), (404, "model name"), (400, "rejected the request (400)")],
)
def test_client_errors_fail_at_once_with_a_clear_message(scripted, status, needle):
    srv = scripted([(status, {}, {"error": {"message": "nope", "type": "invalid_request_error"}})])
    with pytest.raises(FovealError) as e:
        backend(srv.url).generate([image_sample()], 1, Sampling())
    assert len(srv.bodies) == 1  # no retry
    assert srv.url in err(e) and "'toy-model'" in err(e) and needle in err(e) and "nope" in err(e)


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = backend(f"http://127.0.0.1:{port}/v1", max_retries=2)
    with pytest.raises(FovealError) as e:
        b.generate([image_sample()], 1, Sampling())
    assert b.requests_sent == 3 and f"127.0.0.1:{port}" in err(e) and "ConnectError" in err(e)


def test_fewer_choices_than_n_is_an_error(scripted):
    srv = scripted([(200, {}, {"choices": [{"index": 0, "message": {"content": "x"}}]})])
    with pytest.raises(FovealError, match="returned 1 choices .* n=4"):
        backend(srv.url).generate([image_sample()], 4, Sampling())


def test_bad_arguments():
    with pytest.raises(FovealError, match="base_url"):
        OpenAIBackend("localhost:8000", model="m")
    with pytest.raises(FovealError, match="concurrency"):
        OpenAIBackend("http://x/v1", model="m", concurrency=0)


# -- cache and concurrency -------------------------------------------------------------------
def test_cache_makes_a_rerun_free(scripted, tmp_path):
    srv = scripted()
    samples = [image_sample(s) for s in range(5)]
    first = backend(srv.url, cache_dir=tmp_path / "cache").generate(samples, 2, Sampling(seed=1))
    assert len(srv.bodies) == 5 and len(ResponseCache(tmp_path / "cache")) == 5
    again = backend(srv.url, cache_dir=tmp_path / "cache")
    second = again.generate(samples, 2, Sampling(seed=1))
    assert len(srv.bodies) == 5 and again.requests_sent == 0
    assert [[c.text for c in g.completions] for g in second] == [
        [c.text for c in g.completions] for g in first
    ]
    again.generate(samples[:1], 2, Sampling(seed=2))  # another seed is another request
    assert len(srv.bodies) == 6


def test_cache_ignores_a_corrupt_entry(scripted, tmp_path):
    srv = scripted()
    b = backend(srv.url, cache_dir=tmp_path)
    body = b.request_body(image_sample(), 1, Sampling())
    path = ResponseCache(tmp_path).path(request_key(b.url, body))
    path.parent.mkdir(parents=True)
    path.write_text("{torn")
    b.generate([image_sample()], 1, Sampling())
    assert len(srv.bodies) == 1 and json.loads(path.read_text())["choices"]


def test_concurrency_limit_is_respected(scripted):
    srv = scripted(delay=0.15)
    groups = backend(srv.url, concurrency=3).generate([image_sample(s) for s in range(9)], 1, Sampling())
    assert len(srv.bodies) == 9 and 2 <= srv.max_in_flight <= 3
    assert [g.prompt_id for g in groups] == [f"toy/L1/s{s}" for s in range(9)]  # order kept


@pytest.mark.parametrize("text,finish,reason,stop,want", [
    ("<think>4</think><answer>4", "stop", "</answer>", ("</answer>",), "<think>4</think><answer>4</answer>"),
    ("<think>4</think><answer>4", "stop", None, ("</answer>",), "<think>4</think><answer>4</answer>"),  # tag open
    ("<think>4</think> 4", "stop", None, ("</answer>",), "<think>4</think> 4"),  # no answer tag opened: none made
    ("<answer>4", "stop", 151643, ("</answer>",), "<answer>4"),  # vLLM: an eos token id ended it
    ("<answer>4", "length", None, ("</answer>",), "<answer>4"),  # cut by the length limit
    ("<answer>4", "stop", None, (), "<answer>4"),  # nothing was asked to stop at
    ("<answer>4</answer>", "stop", None, ("</answer>",), "<answer>4</answer>"),  # a server that keeps it
    ("<answer>1</answer> <answer>2", "stop", None, ("</answer>",), "<answer>1</answer> <answer>2</answer>"),
])
def test_restore_stop_puts_back_only_the_string_that_ended_the_text(text, finish, reason, stop, want):
    from foveal.rollout.openai import restore_stop

    assert restore_stop(text, finish, reason, stop) == want


def test_a_server_that_strips_the_stop_string_still_scores_under_strict_rewards(scripted):
    from foveal.rewards import accuracy

    reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "<think>red first</think><answer>A"},
                          "finish_reason": "stop", "stop_reason": "</answer>"}]}
    server = scripted([(200, {}, reply)])
    s = image_sample()
    [group] = backend(server.url).generate([s], n=1, sampling=Sampling(temperature=0.0, stop=("</answer>",)))
    assert group.completions[0].text.endswith("<answer>A</answer>")
    assert accuracy([group.completions[0].text], [s]) == [1.0]

"""Model output is hostile input: verify stays bounded, never raises, works off the main thread.

These tests bound each call at 1 s, the contract of `verify` on any input; the work
they time takes milliseconds, so the bound is a safety property, not a benchmark.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from foveal.rewards import limits, score, verify

HOSTILE = [
    "1" * 1_000_000,
    "9" * 5_000,
    "10^{10^{10^{10}}}",
    "2^{2^{2^{2^{2^{2}}}}}",
    "9^{999999}",
    "100000!",
    "\\frac{" * 500,
    "\\frac{1}{" * 500 + "2" + "}" * 500,
    "(" * 5_000,
    "{" * 100_000,
    "import os; os.system('echo pwned')",
    "__import__('os').system('echo pwned')",
    "lambda: (yield)",
    "1e99999999",
    "\\sqrt{" * 200 + "2" + "}" * 200,
    "[" * 50_000 + "]" * 50_000,
    "\x00\x01\x02 \ud800",
    "a" * 300 + "!" * 300,
    "<answer>" * 1000,
    "1, " * 100_000,
    "$" * 150_000,
    "\\boxed{" * 20_000 + "}" * 20_000,
    "\\boxed{" * 150_000,
]
GOLDS = {
    "number": "12",
    "choice": "B",
    "text": "red",
    "math": "x^2+1",
    "box": "[0,0,10,10]",
    "grid": "12\n34",
    "sequence": "1 2 3",
}


@pytest.fixture(scope="module", autouse=True)
def warm_worker():
    """Start the math-verify worker and its spare: start-up is not charged to the input checked."""
    limits.POOL.warm(2)


@pytest.mark.parametrize("answer_type", sorted(GOLDS))
def test_hostile_predictions_are_wrong_fast_and_never_raise(answer_type):
    for bad in HOSTILE:
        t0 = time.monotonic()
        assert verify(bad, GOLDS[answer_type], answer_type) is False
        assert score(f"<think>x</think><answer>{bad}</answer>", GOLDS[answer_type], answer_type) == 0.0
        assert time.monotonic() - t0 < 1.0, (answer_type, bad[:40])


def test_a_slow_symbolic_comparison_times_out_warns_once_and_recovers(caplog):
    limits._warned.discard("timeout")
    slow = "(x+y+z)^{29}(x+y+z+1)"
    with caplog.at_level(logging.WARNING, logger="foveal.rewards"):
        t0 = time.monotonic()
        assert verify(slow, "(x+y+z)^{30}", "math", timeout=0.3) is False
        elapsed = time.monotonic() - t0
        assert verify(slow + "+0", "(x+y+z)^{30}", "math", timeout=0.3) is False
    assert elapsed < 1.0
    warnings = [r for r in caplog.records if "exceeded" in r.getMessage()]
    assert len(warnings) == 1
    # the killed worker was replaced: symbolic checks still work
    assert verify("x^2+2x+1", "(x+1)^2", "math")


def test_math_verify_in_threads():
    """math-verify's own timeout (signal.alarm) raises in threads; foveal's worker does not."""
    pairs = [("x^2+2x+1", "(x+1)^2", True), ("\\sqrt{8}", "2\\sqrt{2}", True), ("x+2", "x+1", False)]
    results: list[tuple[bool, bool]] = []
    errors: list[BaseException] = []

    def work(pred, gold, expected):
        try:
            results.append((verify(pred, gold, "math"), expected))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=p) for p in pairs * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(results) == 6 and all(got == want for got, want in results)


def test_extraction_is_linear_on_hostile_completions():
    for completion in [
        "\\boxed{" * 200_000,
        "\\boxed{1}" + "\\boxed{" * 200_000,
        "<answer>" * 200_000,
        "{" * 1_000_000,
    ]:
        t0 = time.monotonic()
        score(completion, "1", "number")
        assert time.monotonic() - t0 < 1.0


def _verify_in_child(queue):
    queue.put((verify("x^2+2x+1", "(x+1)^2", "math"), verify("x+2", "x+1", "math")))


@pytest.mark.slow  # starts a fresh worker inside the child: ~10 s on the shared machine
def test_math_verify_inside_a_daemonic_process():
    """Data-loader workers are daemonic: `multiprocessing` children are refused there, subprocesses are not."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_verify_in_child, args=(queue,), daemon=True)
    child.start()
    try:
        assert queue.get(timeout=120) == (True, False)
    finally:
        child.join(10)


def test_pool_is_bounded_and_survives_many_threads():
    pool = limits.WorkerPool(max_workers=2)
    try:
        out: list[bool] = []
        threads = [
            threading.Thread(target=lambda: out.append(pool.call({"gold": "(x+1)^2", "pred": "x^2+2x+1"}, 30)["ok"]))
            for _ in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert out == [True] * 6
        assert pool._live <= 2
    finally:
        pool.close()


def test_reward_functions_on_hostile_completions():
    from foveal.rewards import accuracy, consistency, format_reward, iou_reward, target_sample

    samples = [target_sample("5", "number"), target_sample("[0,0,1,1]", "box")]
    for think in ["so is " * 5_000, ("the answer is " + "z" * 199 + " ") * 100, "\\boxed{" * 50_000]:
        completions = [f"<think>{think}</think><answer>{think}</answer>"] * 2
        for fn in (accuracy, consistency, format_reward, iou_reward):
            t0 = time.monotonic()
            assert fn(completions, samples) == [0.0, 0.0] or fn is format_reward
            assert time.monotonic() - t0 < 1.0, fn.__name__


def test_screen_refuses_numbers_too_large_to_build():
    assert limits.too_costly("10^{10^{10}}") and limits.too_costly("2^{99999}") and limits.too_costly("1000!")
    assert (
        not limits.too_costly("e^{x^2}") and not limits.too_costly("2^{100}") and not limits.too_costly("20!")
    )


def test_import_prestarts_one_worker_that_starts_none_of_its_own():
    """No cold start: importing foveal.rewards starts a worker in the background; the worker
    itself (which imports the package too) must not start another (no chain of workers)."""
    import os
    import subprocess
    import sys

    code = (
        "import foveal.rewards as R\n"
        "from foveal.rewards import limits as L\n"
        "print(L.POOL._live)\n"
        "w = L.POOL._idle[0] if L.POOL._idle else None\n"
        "print(w is not None and b'FOVEAL_MATH_PRESTART=0' in open(f'/proc/{w.proc.pid}/environ', 'rb').read())\n"
        "print(R.verify('x^2+2x+1', '(x+1)^2', 'math'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FOVEAL_MATH_PRESTART"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.split() == ["1", "True" if sys.platform == "linux" else "False", "True"], out.stderr[-2000:]
    off = subprocess.run([sys.executable, "-c", "from foveal.rewards import limits as L; print(L.POOL._live)"],
                         capture_output=True, text=True, env={**env, "FOVEAL_MATH_PRESTART": "0"}, timeout=120)
    assert off.stdout.split() == ["0"], off.stderr[-2000:]

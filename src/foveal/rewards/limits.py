"""Limits that keep verification safe on hostile model output.

Model output is hostile input: a 1 MB answer, `10^{10^{10^{10}}}`, 500 nested `\\frac{`,
a program. Three layers keep every `verify` call bounded:

1. Size caps (`MAX_*` below): over-long answers are wrong, decided in O(1).
2. Fast paths: numbers, fractions, letters, grids and sequences are parsed by small
   linear-time code in `foveal.rewards.verify`; they never reach SymPy.
3. A killable worker process for the symbolic rest (`math_verify` / SymPy). math-verify's
   own timeout uses `signal.alarm`: whole seconds, main thread only (it raises
   `ValueError` in any other thread, e.g. a server's or a data loader's), and unable to
   interrupt a long C-level computation such as a huge integer power. Instead, each
   symbolic comparison is sent to a child Python process over a pipe; if no reply comes
   within the deadline the child is killed (SIGKILL works whatever it is doing) and a
   replacement is started at once. This works from any thread and any process
   (subprocesses are allowed inside daemonic data-loader workers; `multiprocessing`
   children are not).

The deadline counts from sending the request to receiving the reply. Starting a
worker (a fresh interpreter importing SymPy and math-verify, about 0.4 s) begins in the
background when `foveal.rewards` is imported (`POOL.prestart()`; set
FOVEAL_MATH_PRESTART=0 to start it at the first symbolic check instead), and again only
after a kill; that wait is not charged to the input that happens to come next, because
a slow start says nothing about the answer being checked. A worker reports ready once
imported and warms SymPy up between requests; until it is warm its deadline is
COLD_GRACE_S longer.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import re
import select
import subprocess
import sys
import threading
import time

logger = logging.getLogger("foveal.rewards")

MAX_ANSWER_CHARS = 10_000
"""Longest answer (after extraction) accepted for number, choice, text and box answers."""
MAX_STRUCTURED_CHARS = 200_000
"""Longest answer accepted for grid and sequence answers."""
MAX_MATH_CHARS = 2_000
"""Longest answer sent to the symbolic (math-verify) path."""
MAX_RAW_MATH_CHARS = 20_000
"""Last characters of a `raw` completion that math-verify reads (its final answer sits at the end)."""
MAX_BRACE_DEPTH = 40
"""Deepest `{` nesting sent to the symbolic path (500 nested `\\frac{` is refused at once)."""
MAX_EXPONENT_DIGITS = 4
"""Decimal exponents like `1e400` beyond this many digits are refused (no 10^10^9 integers)."""
MATH_TIMEOUT_S = 0.8
"""Default deadline for one symbolic comparison, in seconds (the rest of the 1 s budget
covers the kill and the fast checks around it)."""
MAX_WORKERS = max(2, min(8, os.cpu_count() or 2))
"""Most math-verify worker processes alive at once (each holds SymPy, ~70 MB)."""
COLD_GRACE_S = 5.0
"""Extra seconds a worker still warming up (first comparisons of each kind in SymPy) gets."""
WORKER_START_TIMEOUT_S = 60.0
"""How long to wait for a worker process to import SymPy and report ready."""

_warned: set[str] = set()
_warn_lock = threading.Lock()


def warn_once(key: str, message: str) -> None:
    """Log `message` as a warning the first time `key` is seen in this process; later at debug level."""
    with _warn_lock:
        first = key not in _warned
        _warned.add(key)
    (logger.warning if first else logger.debug)(message)


def brace_depth(text: str) -> int:
    """The deepest nesting of `{` in `text` (linear scan)."""
    depth = best = 0
    for ch in text:
        if ch == "{":
            depth += 1
            best = max(best, depth)
        elif ch == "}":
            depth = max(0, depth - 1)
    return best


_FACTORIAL = re.compile(r"(\d+)\s*!")
_INT = re.compile(r"\d+")
_SCI_BIG = re.compile(r"\d\s*[eE]\s*[+-]?\d{4,}")
MAX_RESULT_DIGITS = 1_000
"""Numeric powers and factorials whose value would exceed this many digits are refused."""


def too_costly(latex: str) -> bool:
    """Whether `latex` asks for a number too large to evaluate, refused (wrong) before SymPy.

    A numeric power tower (`10^{10^{10}}`, a `^` or `!` inside the exponent of a numeric
    base), a numeric power `b^n` with more than MAX_RESULT_DIGITS digits, or a factorial
    `n!` of n >= 450 (1,000 digits), an iterated factorial `x!!`, or a decimal exponent of
    four or more digits (`1e99999999`). Symbolic powers like `e^{x^2}` or `(x+1)^{3}` pass:
    their base is not a number.
    """
    if "!!" in latex.replace(" ", "") or _SCI_BIG.search(latex):  # x!!, 1e99999999
        return True
    for m in _FACTORIAL.finditer(latex):
        if len(m.group(1)) > 3 or int(m.group(1)) >= 450:
            return True
    i = latex.find("^")
    while i >= 0:
        j = i - 1
        while j >= 0 and latex[j] in " {}":
            j -= 1
        k = j
        while k >= 0 and (latex[k].isdigit() or latex[k] == "."):
            k -= 1
        base = latex[k + 1 : j + 1].strip(".")
        if base and base.replace(".", "", 1).isdigit():
            exponent = _exponent(latex, i + 1)
            if "^" in exponent or "!" in exponent:
                return True
            if _INT.fullmatch(exponent.strip().lstrip("+-")):
                n = exponent.strip().lstrip("+-")
                if len(n) > 7 or int(n) * math.log10(max(2.0, float(base))) > MAX_RESULT_DIGITS:
                    return True
        i = latex.find("^", i + 1)
    return False


def _exponent(latex: str, k: int) -> str:
    while k < len(latex) and latex[k] == " ":
        k += 1
    if k < len(latex) and latex[k] in "{(":
        close = "}" if latex[k] == "{" else ")"
        return latex[k + 1 : _group_end(latex, k, latex[k], close)]
    m = _INT.match(latex, k)
    return m.group(0) if m else latex[k : k + 1]


def _group_end(text: str, start: int, open_: str, close: str) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == open_:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i
    return len(text)


class WorkerTimeout(Exception):
    """The worker did not answer within the deadline (it has been killed)."""


class _Worker:
    """One child process running `foveal.rewards._mathworker`, one JSON line per request."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "foveal.rewards._mathworker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
            env={
                **os.environ,
                "PYTHONWARNINGS": "ignore",
                "FOVEAL_MATH_PRESTART": "0",
            },  # no worker of its own
        )
        self.ready = False
        self.warm = False
        self._buf = b""

    def _readline(self, deadline: float) -> bytes | None:
        """One line from the child before `deadline` (monotonic), or None on timeout/EOF."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([fd], [], [], left)
            if not readable:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line

    def poll(self) -> None:
        """Read the status lines (`ready`, `warm`) the idle worker has printed so far; never blocks."""
        while not (self.ready and self.warm):
            line = self._readline(time.monotonic())
            if line is None:
                return
            self._status(line)

    def _status(self, line: bytes) -> bool:
        """Note a status line; whether `line` was one."""
        if line == b"ready":
            self.ready = True
        elif line == b"warm":
            self.warm = True
        else:
            return False
        return True

    def wait_ready(self) -> bool:
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        while not self.ready:
            line = self._readline(deadline)
            if line is None or not self._status(line):
                return False
        return True

    def call(self, request: dict, timeout: float):
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout + (0.0 if self.warm else COLD_GRACE_S)
        while True:
            line = self._readline(deadline)
            if line is None:
                raise WorkerTimeout
            if not self._status(line):
                break
        reply = json.loads(line)
        self.warm = bool(reply.get("warm", True))
        return reply

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


class WorkerPool:
    """Workers shared by all threads; a thread takes an idle one, uses it, puts it back.

    At most `max_workers` processes live at once (threads beyond that wait for one to
    come back). A spare is kept starting whenever none is idle, and a worker that misses
    its deadline is killed and replaced at once (`Popen` returns immediately; the child
    imports SymPy in the background), so after a kill the next call finds a warm one.
    """

    def __init__(self, max_workers: int = MAX_WORKERS) -> None:
        self.max_workers = max(1, max_workers)
        self._idle: list[_Worker] = []
        self._live = 0
        self._cond = threading.Condition()
        self._pid = os.getpid()

    def _spawn(self) -> _Worker:
        """A new worker, counted as live (call with the lock held)."""
        self._live += 1
        return _Worker()

    def _take(self) -> _Worker:
        with self._cond:
            if self._pid != os.getpid():  # forked: the parent's workers are not ours
                self._idle, self._live, self._pid = [], 0, os.getpid()
            while True:
                for w in [w for w in self._idle if w.proc.poll() is not None]:
                    self._idle.remove(w)
                    self._live -= 1
                if self._idle or self._live < self.max_workers:
                    break
                self._cond.wait()
            if self._idle:
                for w in self._idle:
                    w.poll()
                worker = max(self._idle, key=lambda w: (w.warm, w.ready))  # warm first, then ready
                self._idle.remove(worker)
            else:
                worker = self._spawn()
        if not worker.wait_ready():
            worker.kill()
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise RuntimeError("foveal.rewards: the math-verify worker process failed to start")
        with self._cond:
            if not self._idle and self._live < self.max_workers:  # a spare, so a kill never leaves us cold
                self._idle.append(self._spawn())
        return worker

    def _give(self, worker: _Worker) -> None:
        with self._cond:
            self._idle.append(worker)
            self._cond.notify()

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            self._idle.append(_Worker())  # one out, one in: the live count is unchanged
            self._cond.notify()

    def call(self, request: dict, timeout: float):
        """Send `request` to a worker; its reply, or WorkerTimeout after `timeout` seconds."""
        worker = self._take()
        try:
            reply = worker.call(request, timeout)
        except WorkerTimeout:
            self._replace(worker)
            raise
        except (OSError, ValueError):  # broken pipe, garbled reply: the worker died
            self._replace(worker)
            raise WorkerTimeout from None
        self._give(worker)
        return reply

    def prestart(self) -> None:
        """Start one worker in the background now (returns at once), unless one exists."""
        with self._cond:
            if self._pid != os.getpid():
                self._idle, self._live, self._pid = [], 0, os.getpid()
            if self._live == 0:
                self._idle.append(self._spawn())

    def warm(self, n: int = 1) -> None:
        """Have `n` workers started, ready and warmed up now (optional: the first symbolic
        comparison would start one). `n = 2` also readies the spare that replaces a killed worker."""
        taken = [self._take() for _ in range(min(n, self.max_workers))]
        for w in taken:
            if not w.warm:
                w.call({"finish_warm_up": True}, WORKER_START_TIMEOUT_S)
            self._give(w)

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
            self._live -= len(idle)
        for w in idle:
            w.kill()


POOL = WorkerPool()
atexit.register(POOL.close)
if os.environ.get("FOVEAL_MATH_PRESTART", "1") != "0":
    POOL.prestart()

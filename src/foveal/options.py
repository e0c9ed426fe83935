"""Checks of command-line input, shared by every room's commands.

A command checks all of its input with these (and typer's `min=`/`max=` for plain number ranges)
before it creates anything, so bad input ends in one line naming the option and what was
expected (a `FovealError`; the CLI prints it and exits 2) and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from foveal.errors import FovealError

NAMES_AN_OPTION = re.compile(r"(?<![\w-])--[a-z]")


@contextlib.contextmanager
def about(option: str) -> Iterator[None]:
    """Name `option` in a FovealError raised inside, unless its message already names an option.

    For library calls that check a value without knowing which option it came from:
        with about("--data"): samples = load_data(data)
    """
    try:
        yield
    except FovealError as e:
        if NAMES_AN_OPTION.search(str(e)):
            raise
        raise FovealError(f"{option}: {e}") from e


def check_creatable(path: Path, option: str) -> None:
    """FovealError unless this user can create `path` (its nearest existing ancestor is a writable directory)."""
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise FovealError(f"{option} {path}: cannot write there ({parent} is a file, not a directory)")
    try:  # the only reliable test (root ignores permission bits; some filesystems refuse anyway)
        os.rmdir(tempfile.mkdtemp(dir=parent, prefix=".foveal-probe-"))
    except OSError as e:
        raise FovealError(f"{option} {path}: cannot write there ({parent}: {e.strerror or e})") from e


def check_out_dir(out: Path, overwrite: bool = False, option: str = "--out") -> None:
    """FovealError unless directory `out` can be created (or, with `overwrite`, may already exist)."""
    if out.exists() and not out.is_dir():
        raise FovealError(f"{option} {out}: exists and is not a directory")
    if out.exists() and not overwrite:
        raise FovealError(f"{option} {out}: already exists (pass --overwrite to replace it)")
    check_creatable(out, option)


def check_out_file(out: Path, option: str = "--out") -> None:
    """FovealError unless file `out` can be written (created, or replaced if it is a file)."""
    if out.is_dir():
        raise FovealError(f"{option} {out}: is a directory (expected a file name)")
    check_creatable(out, option)


def check_in_file(path: Path, option: str) -> None:
    """FovealError unless `path` is an existing file."""
    if not path.exists():
        raise FovealError(f"{option} {path}: no such file")
    if not path.is_file():
        raise FovealError(f"{option} {path}: is not a file")


def is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def check_sampling(k: int, temperature: float, top_p: float) -> None:
    """FovealError unless K completions at this temperature and top-p make sense.

    Greedy decoding (temperature 0) gives one answer per problem, so K > 1 copies of it would
    only repeat it (pass@K = maj@K = accuracy): that is refused rather than computed.
    """
    if not (math.isfinite(temperature) and temperature >= 0):
        raise FovealError(f"--temperature must be a number >= 0 (0 is greedy), got {temperature}")
    if not 0 < top_p <= 1:
        raise FovealError(f"--top-p must be in (0, 1], got {top_p}")
    if k > 1 and temperature == 0:
        raise FovealError(f"--k {k} at --temperature 0 (greedy) would repeat one completion {k} times: "
                          f"sample with --temperature > 0 (e.g. 1.0), or use --k 1")


def check_device(device: str | None, option: str = "--device") -> None:
    """FovealError unless `device` is None (automatic) or a torch device this machine has."""
    if device is None:
        return
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise FovealError(f"{option} {device!r}: expected cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        raise FovealError(f"{option} {device}: no such CUDA device here ({torch.cuda.device_count()} visible)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise FovealError(f"{option} {device}: MPS is not available here")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise FovealError(f"{option} {device!r}: expected cpu, cuda, cuda:N or mps")


HOSTNAME = re.compile(r"^[A-Za-z0-9.:\-\[\]%]+$")


def check_listen(host: str, port: int) -> None:
    """FovealError unless a server can listen on host:port now (resolved and bound once, then released)."""
    if not HOSTNAME.match(host):
        raise FovealError(f"--host {host!r}: expected an IP address or a host name")
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError) as e:
        raise FovealError(f"--host {host}: cannot resolve it ({e})") from None
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind(addr)
        except OSError as e:
            raise FovealError(f"--port {port}: cannot listen on {host}:{port} ({e.strerror or e})") from None

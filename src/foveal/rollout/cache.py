"""A response cache on disk: one JSON file per request, keyed by a hash of the request.

    cache = ResponseCache("runs/api-cache")
    key = request_key(url, body)            # sha256 of the canonical JSON of (url, body)
    cache.get(key) -> dict | None
    cache.put(key, response)                # atomic: a crash never leaves half a file

Files live at `root/ab/abcdef….json` (two-character fan-out keeps directories small).
Because each entry is its own file written by rename, several threads or processes may
share one cache; a corrupt entry (e.g. edited by hand) reads as a miss and is rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from foveal.io import atomic_write_json


def request_key(url: str, body: dict[str, Any]) -> str:
    """sha256 hex digest of `{"url": url, "body": body}` as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(
        {"url": url, "body": body}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """Responses by request key under `root` (created on first write)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None

    def put(self, key: str, response: dict[str, Any]) -> None:
        atomic_write_json(self.path(key), response, indent=None)

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.exists() else 0

"""Helpers shared by the benchmark scripts in bench/ (imported as `common`)."""
from __future__ import annotations

import os
import socket
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("TESSERA_BIN", ROOT / "target/release/tessera"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait_until_serving(base: str, tries: int = 300) -> None:
    """Poll GET /api/v1/server_settings until the server answers (at most tries × 50 ms)."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(f"{base}/api/v1/server_settings", timeout=1)
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{base} did not start serving")

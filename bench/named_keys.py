#!/usr/bin/env python3
"""The cost of named keys on the hot path, as ratios measured in one run (see bench/README.md).

  GET /api/v1/users/me with the account key (Zulip's one key, the path before named keys)
  vs the same with 10 named keys of that account, each read-scoped (so every request goes
  through the route → scope table, the scope check and the key's use record), wrk cycling
  through the 10 keys. Both sides run the same wrk Lua script (the account key's header list
  has one entry), so the client's mechanics are the same on both sides.

The server is pinned to CPU 0, wrk to CPU 1; the two measurements alternate in --rounds
rounds, so noise on this shared machine falls on both sides. CPU per request is the server's
utime+stime from /proc/<pid>/stat ÷ requests. Goal: account-key CPU ÷ named-key CPU ≥ 0.97
(named keys cost at most ~3 % more per request).

Usage: bench/named_keys.py [--engine sqlite|postgres|both] [--seconds 8] [--rounds 4]
Needs: a release binary (cargo build --release -p tessera), wrk (apt), taskset, psql.
"""
from __future__ import annotations

import base64
import json
import re
import subprocess
import urllib.parse
import urllib.request

from auth_path import OWNER, Server, combine, cpu_split, parse_ms, wrk_args

KEYS = 10

CYCLE_LUA = r"""
local headers = {}
for line in io.lines("%s") do headers[#headers + 1] = line end
local i = 0
request = function()
  i = i %% #headers + 1
  return wrk.format("GET", "/api/v1/users/me", {["Authorization"] = headers[i]})
end
"""


def create_named_keys(s: Server, n: int) -> list[str]:
    """n read-scoped named keys of the owner, made through the API with the account key."""
    keys = []
    for i in range(n):
        body = urllib.parse.urlencode({"name": f"bench-{i}", "scope": "read"}).encode()
        req = urllib.request.Request(f"{s.base}/api/v1/users/me/api_keys", data=body,
                                     headers={"Authorization": s.auth})
        keys.append(json.load(urllib.request.urlopen(req))["api_key"])
    return keys


def wrk_script(s: Server, seconds: int, script: str) -> dict:
    cmd = ["taskset", "-c", "1", "wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", "-s", script,
           s.base + "/api/v1/users/me"]
    u0, s0 = cpu_split(s.proc.pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    u1, s1 = cpu_split(s.proc.pid)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "requests": total,
            "cpu_us_per_req": ((u1 - u0) + (s1 - s0)) / total * 1e6,
            "user_us_per_req": (u1 - u0) / total * 1e6, "sys_us_per_req": (s1 - s0) / total * 1e6,
            "p99_ms": parse_ms(re.search(r"99%\s+(\S+)", out).group(1)),
            "errors": int(non2xx.group(1)) if non2xx else 0}


def main() -> None:
    a, engines = wrk_args()
    per_round = max(1, a.seconds // 2)
    summary = []
    for engine in engines:
        s = Server(engine, 0)
        try:
            keys = create_named_keys(s, KEYS)
            # Both sides go through the same wrk script, cycling through their headers: the
            # account key's list is that one header; the named keys' list is 10 headers.
            scripts = {}
            for side, side_keys in (("account", [s.key]), ("named", keys)):
                headers = s.dir / f"{side}.txt"
                headers.write_text("".join(
                    "Basic " + base64.b64encode(f"{OWNER}:{k}".encode()).decode() + "\n"
                    for k in side_keys))
                lua = s.dir / f"{side}.lua"
                lua.write_text(CYCLE_LUA % headers)
                scripts[side] = str(lua)
            # Warm both paths (every named key cached, its last use written once).
            wrk_script(s, 2, scripts["account"])
            wrk_script(s, 2, scripts["named"])
            account, named = [], []
            for _ in range(a.rounds):
                account.append(wrk_script(s, per_round, scripts["account"]))
                named.append(wrk_script(s, per_round, scripts["named"]))
            acc, nam = combine(account), combine(named)
            # Each round's own ratio too: a slow spell of this shared machine shows as one
            # outlying round instead of moving the pooled ratio unseen.
            round_ratios = sorted(x["cpu_us_per_req"] / y["cpu_us_per_req"]
                                  for x, y in zip(account, named))
            print(json.dumps({engine: {"account_key": acc, "named_keys": nam}}), flush=True)
            if acc["errors"] or nam["errors"]:
                raise SystemExit(f"{engine}: non-2xx answers: {acc['errors']} / {nam['errors']}")
            summary.append(
                f"{engine}: users/me CPU/request account key {acc['cpu_us_per_req']:.1f} µs, "
                f"{KEYS} read-scoped named keys {nam['cpu_us_per_req']:.1f} µs; "
                f"ratio account ÷ named {acc['cpu_us_per_req'] / nam['cpu_us_per_req']:.3f} (goal ≥ 0.97; "
                f"per round {', '.join(f'{r:.3f}' for r in round_ratios)}, "
                f"median {round_ratios[len(round_ratios) // 2]:.3f}); "
                f"throughput {acc['rps']:.0f} vs {nam['rps']:.0f} rps; "
                f"p99 {acc['p99_ms']:.2f} vs {nam['p99_ms']:.2f} ms")
        finally:
            s.stop()
    print("\nsummary")
    for line in summary:
        print(line)


if __name__ == "__main__":
    main()

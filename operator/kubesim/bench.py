"""``python -m kubesim.bench``: kubesim's throughput, measured from a client process against a real kubesim
process (so the server has its own core): GETs/s, writes/s and the fan-out of one change to many open watches.
Over HTTPS with kubesim's CA, as every client uses it; ``--insecure-http`` measures plain HTTP (TLS's cost)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import yaml

TOKEN = "bench-token"
CM_URL = "/api/v1/namespaces/default/configmaps"


def start_server(workdir: Path, insecure_http: bool = False) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubesim",
            "--port",
            "0",
            "--token",
            TOKEN,
            "--kubeconfig",
            str(workdir / "kubeconfig"),
            *(["--insecure-http"] if insecure_http else []),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("kubesim ready "):
        proc.kill()
        raise SystemExit(f"kubesim did not start: {line!r}")
    return proc, line.split()[-1]


async def _workers(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


def client_ssl(kubeconfig: Path) -> ssl.SSLContext | bool:
    """A TLS context trusting the CA kubesim wrote into its kubeconfig (True, aiohttp's default, over HTTP)."""
    cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
    ca = cluster.get("certificate-authority-data")
    return ssl.create_default_context(cadata=base64.b64decode(ca).decode()) if ca else True


async def bench(
    url: str, gets: int, writes: int, watches: int, concurrency: int, tls: ssl.SSLContext | bool = True
) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    connector = aiohttp.TCPConnector(limit=0, ssl=tls)
    async with aiohttp.ClientSession(url, headers=headers, connector=connector) as http:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bench"}, "data": {"k": "v"}}
        async with http.post(CM_URL, json=body) as resp:
            assert resp.status == 201, await resp.text()

        async def get(_: int) -> None:
            async with http.get(f"{CM_URL}/bench") as resp:
                await resp.read()
                assert resp.status == 200

        async def write(i: int) -> None:
            created = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"w{i}"}, "data": {}}
            async with http.post(CM_URL, json=created) as resp:
                await resp.read()
                assert resp.status == 201

        results = {
            "GETs/s": await _workers(gets, concurrency, get),
            "creates/s": await _workers(writes, concurrency, write),
        }

        async with http.post("/api/v1/namespaces", json={"metadata": {"name": "bench-watch"}}) as resp:
            await resp.read()
        since = await _after_root_ca(http, "bench-watch")
        opened = asyncio.Event()
        ready = 0
        received: list[float] = []

        async def watch() -> None:
            nonlocal ready
            watch_url = f"/api/v1/namespaces/bench-watch/configmaps?watch=true&timeoutSeconds=60&resourceVersion={since}"
            async with http.get(watch_url) as resp:
                ready += 1
                if ready == watches:
                    opened.set()
                line = await resp.content.readline()
                assert json.loads(line)["type"] == "ADDED"
                received.append(time.perf_counter())

        tasks = [asyncio.create_task(watch()) for _ in range(watches)]
        await asyncio.wait_for(opened.wait(), 60)
        await asyncio.sleep(0.2)  # the last streams' server side registers its watcher
        sent = time.perf_counter()
        fan = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fan"}}
        async with http.post("/api/v1/namespaces/bench-watch/configmaps", json=fan) as resp:
            await resp.read()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        results[f"fan-out to {watches} watches, last event after ms"] = (max(received) - sent) * 1000
        return results


async def _after_root_ca(http: aiohttp.ClientSession, namespace: str) -> str:
    """The resourceVersion once the namespace's kube-root-ca.crt exists (watches from there see only the bench's
    own ConfigMap)."""
    for _ in range(200):
        async with http.get(f"/api/v1/namespaces/{namespace}/configmaps") as resp:
            listed = await resp.json()
        if listed["items"]:
            return str(listed["metadata"]["resourceVersion"])
        await asyncio.sleep(0.01)
    raise SystemExit(f"no kube-root-ca.crt in {namespace}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kubesim.bench", description=__doc__)
    parser.add_argument("--gets", type=int, default=5000)
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--watches", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--insecure-http", action="store_true", help="serve and measure plain HTTP")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp), args.insecure_http)
        tls = client_ssl(Path(tmp) / "kubeconfig")
        try:
            results = asyncio.run(bench(url, args.gets, args.writes, args.watches, args.concurrency, tls))
        finally:
            proc.terminate()
            proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()
    for name, value in results.items():
        print(f"{name:45s} {value:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The real Prometheus server (and promtool) as test processes: 127.0.0.1, a free port, storage in a temp dir.

``make test`` installs Debian's ``prometheus`` package when it is missing (scripts/ensure-prometheus.sh); when that
was impossible, the tests that need it skip with the reason the script recorded, and only then.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
REASON_FILE = ROOT / ".venv" / "prometheus-unavailable"


def require_prometheus() -> tuple[str, str]:
    """Paths of ``prometheus`` and ``promtool``; a skip, with the reason, when they could not be installed."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus and promtool:
        return prometheus, promtool
    reason = REASON_FILE.read_text().strip() if REASON_FILE.exists() else ""
    if os.environ.get("DEPLOYREQ_REQUIRE_PROMETHEUS") == "1":
        pytest.fail(f"prometheus and promtool are required (DEPLOYREQ_REQUIRE_PROMETHEUS=1): {reason}")
    pytest.skip(
        reason
        or "prometheus/promtool are not on PATH: `make test` installs Debian's prometheus package "
        "(scripts/ensure-prometheus.sh)"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusServer:
    """``prometheus`` scraping ``targets`` (host:port) every ``interval``, until ``stop``."""

    def __init__(self, workdir: Path, targets: dict[str, list[str]], interval: str = "1s") -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": hosts}]} for job, hosts in targets.items()
            ],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log_path = workdir / "prometheus.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> PrometheusServer:
        binary, _ = require_prometheus()
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={self.workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.wait_until(self._ready, timeout, "Prometheus ready")
        return self

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(
                f"prometheus exited {self.proc.returncode}: {self.log_path.read_text()[-2000:]}"
            )
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError):
            return False

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result (the ``data.result`` list)."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read())
        return list(body["data"]["result"])

    @staticmethod
    def wait_until(check: Any, timeout: float, what: str) -> Any:
        """Ask ``check()`` until it is truthy (Prometheus offers no watch), bounded in time."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if hasattr(self, "_log"):
            self._log.close()

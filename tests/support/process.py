"""``python -m kubesim`` as a real process on a free port, with its own kubeconfig and token. It serves HTTPS
with a CA of its own (read back from the kubeconfig it writes: ``ca_pem``, ``ssl_context()``)."""

from __future__ import annotations

import base64
import json
import os
import selectors
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


class KubesimProcess:
    def __init__(
        self, workdir: Path, *args: str, token: str = "test-token", ready_timeout: float = 20.0
    ) -> None:
        self.workdir = workdir
        self.kubeconfig = workdir / "kubeconfig"
        self.audit_path = workdir / "audit.jsonl"
        self.log_path = workdir / "kubesim.log"
        self.token = token
        self.args = list(args)
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.ca_pem = b""
        """The CA kubesim generated at start (empty with ``--insecure-http``)."""

    def __enter__(self) -> KubesimProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "operator"), str(ROOT)])}
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kubesim",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--kubeconfig",
                str(self.kubeconfig),
                "--token",
                self.token,
                "--audit-log",
                str(self.audit_path),
                *self.args,
            ],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            ready = sel.select(self.ready_timeout)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line.startswith("kubesim ready "):
            self.stop()
            raise RuntimeError(f"kubesim did not start: {line!r}; see {self.log_path}")
        self.url = line.split()[-1]
        cluster = yaml.safe_load(self.kubeconfig.read_text())["clusters"][0]["cluster"]
        self.ca_pem = base64.b64decode(cluster.get("certificate-authority-data", ""))

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client TLS context trusting kubesim's CA (None over plain HTTP)."""
        return ssl.create_default_context(cadata=self.ca_pem.decode()) if self.ca_pem else None

    def open(self, request: urllib.request.Request | str, timeout: float = 10) -> Any:
        """``urllib.request.urlopen`` verifying kubesim's certificate."""
        return urllib.request.urlopen(request, timeout=timeout, context=self.ssl_context())

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        if hasattr(self, "_log"):
            self._log.close()

    def request(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> Any:
        """One authenticated HTTP request to kubesim; the parsed JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": content_type, "Authorization": f"Bearer {self.token}"},
        )
        with self.open(req) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """kubesim's own admin API under ``/kubesim/`` (faults, settings, audit)."""
        return self.request(method, f"/kubesim/{path}", body)

    def audit(self, since: int = 0) -> list[dict[str, Any]]:
        req = urllib.request.Request(
            f"{self.url}/kubesim/audit?since={since}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with self.open(req) as response:
            text = response.read().decode()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def clear_audit(self) -> None:
        self.request("DELETE", "/kubesim/audit")

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Read (no arguments) or change the simulated controllers' settings at runtime."""
        if changes:
            return self.request("PATCH", "/kubesim/settings", changes)  # type: ignore[no-any-return]
        return self.request("GET", "/kubesim/settings")  # type: ignore[no-any-return]

    def wait_until(self, check: Any, timeout: float = 10.0, what: str = "condition") -> Any:
        """Poll ``check()`` until truthy, bounded in time."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(delay)
            delay = min(delay * 1.5, 0.3)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

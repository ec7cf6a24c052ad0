"""The kubeconfig kubesim writes for itself."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml


def write_kubeconfig(
    path: Path, url: str, token: str, user: str = "kubesim-admin", ca_pem: bytes | None = None
) -> None:
    """Cluster ``kubesim`` (with ``certificate-authority-data`` when the server is HTTPS), the admin user's bearer
    token, context ``kubesim`` in namespace ``default``; mode 0600."""
    cluster: dict[str, Any] = {"server": url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubesim", "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": "kubesim", "context": {"cluster": "kubesim", "user": user, "namespace": "default"}}
        ],
        "current-context": "kubesim",
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)

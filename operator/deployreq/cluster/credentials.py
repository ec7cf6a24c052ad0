"""Where the API server is and how to authenticate: the only module that loads the ``kubernetes`` library."""

from __future__ import annotations

import base64
import contextlib
import json
from dataclasses import dataclass

IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


@dataclass(frozen=True)
class Credentials:
    """Where the API server is and how to authenticate, as loaded from a kubeconfig or the pod's service account."""

    server: str
    token: str | None = None
    token_file: str | None = None
    """Where a rotating token lives (a pod's projected ServiceAccount token): re-read as client-go does."""
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True
    namespace: str = "default"
    """The namespace of the current context (or of the pod), for commands run without ``-n``."""
    subject: str | None = None
    """Who the token says the operator is (its ``sub`` claim, ``system:serviceaccount:NS:NAME`` for a
    ServiceAccount token); None without a token or for a token that is not a JWT."""

    def __repr__(self) -> str:  # never print the token
        return f"Credentials(server={self.server!r})"


def load_credentials(kubeconfig: str | None = None, context: str | None = None) -> Credentials:
    """Credentials from the kubeconfig (``$KUBECONFIG`` or ``~/.kube/config``), else in-cluster config."""
    from kubernetes import client, config  # the kubernetes library only loads configuration here

    configuration = client.Configuration()
    namespace = "default"
    token_file = None
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context, client_configuration=configuration
        )
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        chosen = next((c for c in contexts if c["name"] == context), active) if context else active
        namespace = ((chosen or {}).get("context") or {}).get("namespace") or "default"
    except config.ConfigException:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        token_file = IN_CLUSTER_TOKEN
        with contextlib.suppress(OSError):
            namespace = (
                open(  # noqa: SIM115
                    "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
                )
                .read()
                .strip()
                or "default"
            )
    token = None
    auth = configuration.api_key.get("authorization") or configuration.api_key.get("BearerToken")
    if auth:
        token = auth.removeprefix("Bearer ").strip()
    return Credentials(
        subject=token_subject(token or _read(token_file)),
        server=configuration.host.rstrip("/"),
        token=token,
        token_file=token_file,
        ca_file=configuration.ssl_ca_cert,
        cert_file=configuration.cert_file,
        key_file=configuration.key_file,
        verify=bool(configuration.verify_ssl),
        namespace=namespace,
    )


def _read(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with open(path) as file:
            return file.read().strip()
    except OSError:
        return None


def token_subject(token: str | None) -> str | None:
    """The ``sub`` claim of a JWT bearer token (read, not verified: it names the operator's own identity)."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        subject = json.loads(payload).get("sub")
    except (ValueError, AttributeError):
        return None
    return subject if isinstance(subject, str) else None

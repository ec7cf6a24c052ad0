"""A git repository on disk that Argo CD syncs (``file://``), and the Application that points at it.

The repository is what docs/gitops.md tells a user to keep: a Deployment and DeploymentRequests in a kustomization
whose ``images:`` rewrites both (with ``manifests/kustomize/images-transformer.yaml``); a commit changes a tag.
"""

from __future__ import annotations

import copy
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, watch

from tests.argocd.stack import NAMESPACE, ROOT

ARGO = ("argoproj.io", "v1alpha1", "applications")
TRACKING = "argocd.argoproj.io/tracking-id"


def deployment(containers: dict[str, str], replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": c, "image": i} for c, i in containers.items()]},
            },
        },
    }


def request(name: str, images: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeploymentRequest",
        "metadata": {"name": name},
        "spec": {
            "deployment": "web",
            "images": [{"container": c, "image": i} for c, i in images.items()],
            **spec,
        },
    }


@dataclass
class Repo:
    """A git repository with one kustomization at its root; each :meth:`commit` writes it anew."""

    path: Path
    commits: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def init(self) -> None:
        self.path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        transformer = ROOT / "manifests" / "kustomize" / "images-transformer.yaml"
        (self.path / "images-transformer.yaml").write_text(transformer.read_text())

    def commit(
        self, message: str, resources: list[dict[str, Any]], images: list[dict[str, str]] | None = None
    ) -> str:
        """Write the resources and a kustomization listing them with ``images:``; return the new commit's sha."""
        for old in self.path.glob("r-*.yaml"):
            old.unlink()
        names = []
        for resource in resources:
            name = f"r-{resource['kind'].lower()}-{resource['metadata']['name']}.yaml"
            (self.path / name).write_text(yaml.safe_dump(resource, sort_keys=False))
            names.append(name)
        kustomization: dict[str, Any] = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "configurations": ["images-transformer.yaml"],
            "resources": names,
        }
        if images:
            kustomization["images"] = images
        (self.path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
        self.git("add", "-A", ".")
        self.git("commit", "-q", "-m", message)
        sha = self.git("rev-parse", "HEAD")
        self.commits.append(sha)
        return sha


def application(name: str, repo: Repo, namespace: str) -> dict[str, Any]:
    """``manifests/argocd/application.yaml`` (automated sync, prune, self-heal, the ignoreDifferences users are
    told to copy) pointed at ``repo`` and ``namespace``."""
    app: dict[str, Any] = copy.deepcopy(
        yaml.safe_load((ROOT / "manifests" / "argocd" / "application.yaml").read_text())
    )
    app["metadata"] = {"name": name, "namespace": NAMESPACE}
    app["spec"]["source"] = {"repoURL": repo.url, "targetRevision": "main", "path": "."}
    app["spec"]["destination"]["namespace"] = namespace
    return app


@dataclass
class App:
    """An Application as the tests read it."""

    custom: client.CustomObjectsApi
    name: str

    def get(self) -> dict[str, Any]:
        found: dict[str, Any] = self.custom.get_namespaced_custom_object(
            *ARGO[:2], NAMESPACE, ARGO[2], self.name
        )
        return found

    def refresh(self) -> None:
        """What `argocd app get --refresh` does: ask the controller to compare with git now."""
        self.custom.patch_namespaced_custom_object(
            *ARGO[:2],
            NAMESPACE,
            ARGO[2],
            self.name,
            {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}},
        )

    def watch(self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str) -> dict[str, Any]:
        """Watch the Application until ``predicate`` holds (``predicate`` may record what it sees)."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            listing = self.custom.list_namespaced_custom_object(
                *ARGO[:2], NAMESPACE, ARGO[2], field_selector=f"metadata.name={self.name}"
            )
            for item in listing["items"]:
                last = item
                if predicate(item):
                    return item
            stream = watch.Watch()
            for event in stream.stream(
                self.custom.list_namespaced_custom_object,
                *ARGO[:2],
                NAMESPACE,
                ARGO[2],
                field_selector=f"metadata.name={self.name}",
                resource_version=listing["metadata"]["resourceVersion"],
                timeout_seconds=max(1, int(deadline - time.monotonic())),
            ):
                last = event["object"]
                if event["type"] != "DELETED" and predicate(last):
                    stream.stop()
                    return last
        raise AssertionError(f"timed out waiting for application {self.name}: {what}; last: {summary(last)}")


def summary(app: dict[str, Any]) -> dict[str, Any]:
    status = app.get("status") or {}
    operation = status.get("operationState") or {}
    return {
        "refresh": (app.get("metadata", {}).get("annotations") or {}).get("argocd.argoproj.io/refresh"),
        "reconciledAt": status.get("reconciledAt"),
        "sync": (status.get("sync") or {}).get("status"),
        "revision": (status.get("sync") or {}).get("revision"),
        "health": (status.get("health") or {}).get("status"),
        "operation": (operation.get("phase"), operation.get("message")),
        "resources": [
            (r.get("kind"), r.get("name"), r.get("status"), (r.get("health") or {}).get("status"))
            for r in status.get("resources") or []
        ],
        "conditions": status.get("conditions"),
    }


def resource(app: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    """The Application's view of one of its resources (sync status, persisted health), or ``{}``."""
    for entry in (app.get("status") or {}).get("resources") or []:
        if entry.get("kind") == kind and entry.get("name") == name:
            return dict(entry)
    return {}


def synced_to(app: dict[str, Any], sha: str) -> bool:
    sync = (app.get("status") or {}).get("sync") or {}
    return sync.get("status") == "Synced" and sync.get("revision") == sha


def health(app: dict[str, Any]) -> str | None:
    return ((app.get("status") or {}).get("health") or {}).get("status")

"""A minimal kopf operator for tests/kubesim/test_kopf_operator.py: it reacts to Widgets and writes their status."""

from __future__ import annotations

import logging
from typing import Any

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.watching.server_timeout = 30
    settings.posting.level = logging.WARNING


@kopf.on.create("test.kubesim.dev", "v1", "widgets")
def created(spec: Any, name: str, patch: kopf.Patch, **_: Any) -> None:
    patch.status["phase"] = f"Created-{spec.get('size')}"


@kopf.on.update("test.kubesim.dev", "v1", "widgets", field="spec.size")
def resized(new: Any, name: str, patch: kopf.Patch, **_: Any) -> None:
    patch.status["phase"] = f"Resized-{new}"


@kopf.on.delete("test.kubesim.dev", "v1", "widgets")
def deleted(name: str, **_: Any) -> None:
    print(f"WIDGET-DELETED {name}", flush=True)

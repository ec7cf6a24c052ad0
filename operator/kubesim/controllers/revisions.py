"""ControllerRevisions, the history of StatefulSets and DaemonSets (``pkg/controller/history``,
``statefulset/stateful_set_utils.go`` ``newRevision``, ``daemonset/update.go`` ``constructHistory``).

A revision's ``data`` is the patch ``kubectl rollout undo`` applies: ``{"spec": {"template": {..., "$patch":
"replace"}}}``, keys sorted as Go's encoding/json writes a map. kubectl compares these bytes with its own patch of
the live object to say a rollback is not needed, so they are built the way Go writes them.
"""

from __future__ import annotations

import json
from typing import Any

from kubesim.controllers.base import controller_ref, owner_reference
from kubesim.storage.objects import clone
from kubesim.storage.store import Store

Obj = dict[str, Any]
_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def go_json(value: Any) -> bytes:
    """``json.Marshal`` of a decoded document: compact, map keys sorted, ``<``, ``>``, ``&`` escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(raw, escaped)
    return text.replace("\u2029", "\\u2029").encode()


def patch_data(owner: Obj) -> Obj:
    """getPatch: the owner's template, to be put back whole (``$patch: replace``), keys in Go's order."""
    template = clone((owner.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    result: Obj = _sorted({"spec": {"template": template}})
    return result


def revision_hash(data: Obj, collision_count: int) -> str:
    """HashControllerRevision: FNV-1 (32 bit) of the data's bytes and the collision count, written in decimal
    through the safe alphabet."""
    value = 0x811C9DC5
    for byte in go_json(data) + str(collision_count).encode():
        value = (value * 0x01000193) & 0xFFFFFFFF
        value ^= byte
    return "".join(_SAFE[ord(ch) % len(_SAFE)] for ch in str(value))


def number(revision: Obj) -> int:
    return int(revision.get("revision") or 0)


class History:
    """The ControllerRevisions one owner controls."""

    def __init__(self, store: Store, owner: Obj) -> None:
        self.store = store
        self.owner = owner
        self.rt = store.require("apps", "controllerrevisions")
        uid = owner["metadata"]["uid"]
        self.revisions = sorted(
            (
                r
                for r in store.iter(self.rt, owner["metadata"]["namespace"])
                if (controller_ref(r) or {}).get("uid") == uid
            ),
            key=lambda r: (number(r), r["metadata"]["creationTimestamp"], r["metadata"]["name"]),
        )

    def next_number(self) -> int:
        return max((number(r) for r in self.revisions), default=0) + 1

    def find(self, data: Obj) -> Obj | None:
        """The newest revision with this data (FindEqualRevisions)."""
        equal = [r for r in self.revisions if r.get("data") == data]
        return equal[-1] if equal else None

    def ensure(self, data: Obj, name: str, labels: dict[str, str], annotations: dict[str, str]) -> Obj:
        """The revision of ``data``: the newest equal one, its number raised to the next when it is not the newest
        (a rollback); else a new one named ``name``."""
        found = self.find(data)
        if found is not None:
            if self.revisions and found is not self.revisions[-1]:
                raised = clone(found)
                raised["revision"] = self.next_number()
                ns = found["metadata"]["namespace"]
                found = self.store.update(self.rt, ns, found["metadata"]["name"], raised)
                self.revisions = [
                    r for r in self.revisions if r["metadata"]["name"] != found["metadata"]["name"]
                ]
                self.revisions.append(found)
            return found
        meta: Obj = {
            "name": name,
            "namespace": self.owner["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [owner_reference(self.owner)],
        }
        if annotations:
            meta["annotations"] = annotations
        body = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta}
        created = self.store.create(
            self.rt, meta["namespace"], {**body, "data": data, "revision": self.next_number()}
        )
        self.revisions.append(created)
        return created

    def taken(self, name: str) -> bool:
        return self.store.peek(self.rt, self.owner["metadata"]["namespace"], name) is not None

    def truncate(self, live: set[str]) -> None:
        """Delete the oldest revisions beyond revisionHistoryLimit that no pod and no status names."""
        limit = int((self.owner.get("spec") or {}).get("revisionHistoryLimit", 10))
        old = [r for r in self.revisions if r["metadata"]["name"] not in live]
        for revision in old[: max(0, len(old) - limit)]:
            self.store.delete(self.rt, revision["metadata"]["namespace"], revision["metadata"]["name"])
            self.revisions.remove(revision)

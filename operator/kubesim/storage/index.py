"""The objects of every type by (namespace, name), with the indexes the reads and the controllers need: names by
namespace, and dependents by owner uid."""

from __future__ import annotations

from collections.abc import Iterator

from kubesim.storage.objects import Obj

Key = tuple[str, str]  # (group, plural)
Dependent = tuple[Key, str, str]  # (type, namespace, name)


def _owner_uids(obj: Obj) -> set[str]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return {str(r.get("uid")) for r in refs if isinstance(r, dict) and r.get("uid")}


class ObjectIndex:
    def __init__(self) -> None:
        self.objects: dict[Key, dict[tuple[str, str], Obj]] = {}
        self._names: dict[Key, dict[str, set[str]]] = {}  # type -> namespace -> names, for namespaced reads
        self._owned: dict[str, set[Dependent]] = {}  # owner uid -> dependents, for the controllers

    def add_type(self, key: Key) -> None:
        self.objects.setdefault(key, {})
        self._names.setdefault(key, {})

    def iter(self, key: Key, namespace: str | None) -> Iterator[Obj]:
        """Stored objects in namespace/name order."""
        objects = self.objects[key]
        if namespace is None:
            for item in sorted(objects):
                yield objects[item]
            return
        for name in sorted(self._names[key].get(namespace, ())):
            obj = objects.get((namespace, name))
            if obj is not None:
                yield obj

    def put(self, key: Key, ns: str, name: str, obj: Obj) -> None:
        """Store ``obj`` and keep the namespace and owner indexes current."""
        objects = self.objects[key]
        old = objects.get((ns, name))
        objects[(ns, name)] = obj
        self._names[key].setdefault(ns, set()).add(name)
        before = _owner_uids(old) if old is not None else set()
        after = _owner_uids(obj)
        for uid in before - after:
            self._unown(uid, (key, ns, name))
        for uid in after - before:
            self._owned.setdefault(uid, set()).add((key, ns, name))

    def pop(self, key: Key, ns: str, name: str) -> None:
        old = self.objects[key].pop((ns, name), None)
        names = self._names[key].get(ns)
        if names is not None:
            names.discard(name)
            if not names:
                del self._names[key][ns]
        if old is not None:
            for uid in _owner_uids(old):
                self._unown(uid, (key, ns, name))

    def _unown(self, uid: str, dependent: Dependent) -> None:
        dependents = self._owned.get(uid)
        if dependents is not None:
            dependents.discard(dependent)
            if not dependents:
                del self._owned[uid]

    def dependents(self, uid: str) -> list[Dependent]:
        """What names ``uid`` among its owners, in type/namespace/name order."""
        return sorted(self._owned.get(uid, ()))

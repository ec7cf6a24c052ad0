"""The in-memory object store: what etcd plus the generic registry of kube-apiserver do.

One monotonic resourceVersion counter for all objects; optimistic concurrency on updates; generation tracking;
the status subresource split; finalizers holding deletion; a retained window of events per resource type from which
watches are replayed (older resourceVersions get 410 Gone).

Everything runs on one asyncio loop and every method is synchronous, so each call is atomic. Stored objects are
never mutated in place: every write stores a fresh copy, so events and ``peek`` can hand out the stored object
without copying. Callers that change what they got from ``get``/``list`` own that copy.
"""

from __future__ import annotations

import builtins
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator

from kubesim.api import errors
from kubesim.api.resources import BUILTINS, ResourceType
from kubesim.storage import checks
from kubesim.storage.admission import Admission, Operation, Requester
from kubesim.storage.index import ObjectIndex
from kubesim.storage.objects import Obj, clone, meta_of, now_rfc3339, same_content
from kubesim.storage.strategy import Strategy, StrategyFor, keep_system_fields
from kubesim.storage.watch import Event, EventWindow, Predicate, Watcher

Key = tuple[str, str]  # (group, plural)

GENERATE_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
DEFAULT_WINDOW = 5000


Listener = Callable[[ResourceType, Event], None]


class Store:
    """Objects by type, namespace and name, with watches and admission hooks."""

    def __init__(
        self,
        *,
        strategy_for: StrategyFor,
        clock: Callable[[], float] = time.time,
        window: int = DEFAULT_WINDOW,
        seed: int | None = None,
    ) -> None:
        """``strategy_for``: each resource type's strategy (kubesim.registry's; a bare :class:`Strategy` gives
        only the generic registry's defaults)."""
        self.strategy_for = strategy_for
        self.clock = clock
        self.window = window
        self.rng = random.Random(seed)
        self._rv = 0
        self._types: dict[Key, ResourceType] = {}
        self._strategies: dict[Key, Strategy] = {}
        self._index = ObjectIndex()
        self._objects = self._index.objects  # read directly on the hot paths
        self._events = EventWindow(window)
        self.admission: list[Admission] = []
        # mutating admission: before the server fills in system fields and the strategy and validation run
        self.mutating: list[Admission] = []
        self.listeners: list[Listener] = []
        for rt in BUILTINS:
            self.register(rt)

    # --- types -------------------------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    def register(self, rt: ResourceType) -> None:
        """Serve a type; re-registering (a CRD update) keeps its objects."""
        self._types[rt.key] = rt
        self._strategies[rt.key] = self.strategy_for(rt)
        self._index.add_type(rt.key)
        self._events.add_type(rt.key)

    def unregister(self, key: Key) -> None:
        """Stop serving a type: its objects are deleted (with events) and its watches end."""
        rt = self._types.get(key)
        if rt is None:
            return
        for obj in list(self._objects[key].values()):
            self._remove(rt, obj)
        self._events.close_type(key)
        del self._types[key]
        del self._strategies[key]

    def types(self) -> list[ResourceType]:
        return list(self._types.values())

    def resource(self, group: str, plural: str) -> ResourceType | None:
        return self._types.get((group, plural))

    def require(self, group: str, plural: str) -> ResourceType:
        rt = self.resource(group, plural)
        if rt is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        return rt

    # --- reads -------------------------------------------------------------------------------------------

    def peek(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        """The stored object itself (do not mutate), or None."""
        return self._objects[rt.key].get((namespace or "", name))

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self.peek(rt, namespace, name)
        if obj is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return clone(obj)  # type: ignore[no-any-return]

    def iter(self, rt: ResourceType, namespace: str | None = None) -> Iterator[Obj]:
        """Stored objects (do not mutate) in namespace/name order."""
        return self._index.iter(rt.key, namespace)

    def list(
        self, rt: ResourceType, namespace: str | None = None, predicate: Predicate | None = None
    ) -> tuple[list[Obj], int]:
        items = [clone(o) for o in self.iter(rt, namespace) if predicate is None or predicate(o)]
        return items, self._rv

    def count(self, rt: ResourceType) -> int:
        return len(self._objects[rt.key])

    # --- writes ------------------------------------------------------------------------------------------

    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def _emit(self, rt: ResourceType, event: Event) -> None:
        self._events.emit(rt.key, event)
        for listener in list(self.listeners):
            listener(rt, event)

    def _mutate(self, op: Operation) -> None:
        for hook in self.mutating:  # each changes op.obj in place (its metadata dict too)
            hook(op)

    def _admit(self, op: Operation) -> None:
        for hook in self.admission:
            hook(op)

    def _check_namespace(self, rt: ResourceType, namespace: str | None, name: str = "") -> str:
        if not rt.namespaced:
            return ""
        if not namespace:
            raise errors.bad_request("an empty namespace may not be set during creation")
        ns = self._objects[("", "namespaces")].get(("", namespace))
        if ns is None:
            raise errors.not_found("namespaces", "", namespace)
        if ns.get("metadata", {}).get("deletionTimestamp"):
            raise checks.namespace_terminating(rt, namespace, name)
        return namespace

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        obj: Obj,
        user: str = "",
        dry_run: bool = False,
        *,
        strict: bool = False,
        owned: bool = False,
        copy: bool = True,
        requester: Requester | None = None,
    ) -> Obj:
        """Store a new object. ``strict``: the request's fieldValidation=Strict, for admission; ``owned``: ``obj``
        is the caller's to give away (not copied); ``copy=False``: the caller only reads the result (the stored
        object itself is returned)."""
        if not owned:
            obj = clone(obj)
        meta = meta_of(obj)
        if rt.namespaced and meta.get("namespace") and namespace and meta["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        ns = self._check_namespace(rt, namespace or meta.get("namespace"), str(meta.get("name") or ""))
        name = meta.get("name") or ""
        if not name and meta.get("generateName"):
            name = self._generate_name(rt, ns, meta["generateName"])
        checks.validate_name(rt, name)
        meta["name"] = name
        if rt.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        if (ns, name) in self._objects[rt.key]:
            raise errors.already_exists(rt.plural, rt.group, name)
        self._mutate(Operation("create", rt, obj, None, None, user, strict, requester, ns))
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339(self.clock)
        self._strategies[rt.key].prepare_for_create(obj)
        self._admit(Operation("create", rt, obj, None, None, user, strict, requester, ns))
        if dry_run:
            return obj
        meta["resourceVersion"] = str(self._next_rv())
        self._index.put(rt.key, ns, name, obj)
        self._emit(rt, Event("ADDED", obj, self._rv))
        return clone(obj) if copy else obj

    def _generate_name(self, rt: ResourceType, ns: str, prefix: str) -> str:
        """generateName plus five random characters, tried up to ten times for a name not taken."""
        name = ""
        for _ in range(10):
            suffix = "".join(self.rng.choice(GENERATE_NAME_CHARS) for _ in range(5))
            name = f"{prefix}{suffix}"
            if (ns, name) not in self._objects[rt.key]:
                break
        return name

    def _existing(self, rt: ResourceType, namespace: str | None, name: str) -> tuple[str, Obj]:
        """The stored object's namespace key and the object itself; 404 when there is none."""
        ns = (namespace or "") if rt.namespaced else ""
        old = self._objects[rt.key].get((ns, name))
        if old is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return ns, old

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        obj: Obj,
        *,
        subresource: str | None = None,
        user: str = "",
        dry_run: bool = False,
        strict: bool = False,
        owned: bool = False,
        copy: bool = True,
        requester: Requester | None = None,
    ) -> Obj:
        """PUT semantics; ``obj`` carries the resourceVersion it was based on (or none). ``strict``, ``owned`` and
        ``copy`` as for :meth:`create`."""
        ns, old = self._existing(rt, namespace, name)
        strategy = self._strategies[rt.key]
        new = obj if owned else clone(obj)
        meta = meta_of(new)
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        old_meta = old["metadata"]
        given_rv = meta.get("resourceVersion")
        if given_rv:
            if str(given_rv) != old_meta["resourceVersion"]:
                raise errors.conflict(rt.plural, rt.group, name)
        elif not strategy.allow_unconditional_update():
            raise checks.resource_version_required(rt, name)
        self._mutate(Operation("update", rt, new, old, subresource, user, strict, requester, ns))
        if subresource == "status":
            new = strategy.prepare_for_status_update(new, old)
            meta = new["metadata"]
        else:
            strategy.prepare_for_update(new, old, subresource)
            keep_system_fields(rt, ns, name, new, old_meta)
            strategy.validate_update(new, old)
        self._admit(Operation("update", rt, new, old, subresource, user, strict, requester, ns))
        if same_content(new, old) and meta.get("managedFields") == old_meta.get("managedFields"):
            return clone(old) if copy else old
        if rt.has_generation and subresource is None and strategy.generation_changed(old, new):
            meta["generation"] = int(old_meta.get("generation") or 0) + 1
        if dry_run:
            return dict(new)
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and not strategy.held_after_update(new)
        ):
            meta["resourceVersion"] = old_meta["resourceVersion"]
            self._index.put(rt.key, ns, name, new)
            self._remove(rt, new)
            return clone(new) if copy else new  # as stored last: the real server answers its last version
        meta["resourceVersion"] = str(self._next_rv())
        self._index.put(rt.key, ns, name, new)
        self._emit(rt, Event("MODIFIED", new, self._rv, old))
        return clone(new) if copy else new

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        propagation: str | None = None,
        precondition_uid: str | None = None,
        precondition_rv: str | None = None,
        user: str = "",
        dry_run: bool = False,
        requester: Requester | None = None,
    ) -> Obj:
        """Delete, or mark for deletion when finalizers hold the object; returns the object as it ends up."""
        ns, old = self._existing(rt, namespace, name)
        meta = old["metadata"]
        checks.check_preconditions(rt, name, meta, precondition_uid, precondition_rv)
        self._admit(Operation("delete", rt, old, old, None, user, False, requester, ns))
        finalizers = list(meta.get("finalizers") or [])
        propagation = propagation or self._strategies[rt.key].default_propagation
        if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        elif propagation == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        strategy = self._strategies[rt.key]
        if dry_run:
            return clone(old)  # type: ignore[no-any-return]
        if finalizers or strategy.always_marks_on_delete:
            if meta.get("deletionTimestamp") and finalizers == list(meta.get("finalizers") or []):
                return clone(old)  # type: ignore[no-any-return]
            new = clone(old)
            new_meta = new["metadata"]
            if not new_meta.get("deletionTimestamp") and new_meta.get("generation"):
                new_meta["generation"] = int(new_meta["generation"]) + 1  # BeforeDelete bumps it
            new_meta.setdefault("deletionTimestamp", now_rfc3339(self.clock))
            new_meta.setdefault("deletionGracePeriodSeconds", 0)
            if finalizers:
                new_meta["finalizers"] = finalizers
            strategy.before_mark_deleted(new)
            new_meta["resourceVersion"] = str(self._next_rv())
            self._index.put(rt.key, ns, name, new)
            self._emit(rt, Event("MODIFIED", new, self._rv, old))
            return clone(new)  # type: ignore[no-any-return]
        return self._remove(rt, old)

    def _remove(self, rt: ResourceType, obj: Obj) -> Obj:
        meta = obj["metadata"]
        self._index.pop(rt.key, meta.get("namespace", "") if rt.namespaced else "", meta["name"])
        gone = clone(obj)
        gone["metadata"]["resourceVersion"] = str(self._next_rv())
        self._emit(rt, Event("DELETED", gone, self._rv, obj))
        return clone(gone)  # type: ignore[no-any-return]

    def finalize_namespace(self, name: str) -> None:
        """Remove a terminating namespace once the namespace controller emptied it."""
        rt = self._types[("", "namespaces")]
        ns = self._objects[rt.key].get(("", name))
        if (
            ns is not None
            and ns["metadata"].get("deletionTimestamp")
            and not ns["metadata"].get("finalizers")
        ):
            self._remove(rt, ns)

    # --- watches -----------------------------------------------------------------------------------------

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        since: str | None = None,
        predicate: Predicate | None = None,
    ) -> Watcher:
        """Open a watch. ``since`` empty or "0": ADDED for every current object first; otherwise replay from the
        retained window, or 410 Gone when that resourceVersion fell out of it."""
        return self._events.open(rt, namespace, since, predicate, lambda: self.iter(rt, namespace))

    def close_watches(self) -> None:
        """End every open watch (their clients resume from the last resourceVersion they saw)."""
        self._events.close_all()

    def watcher_count(self) -> int:
        return self._events.watcher_count()

    def compact(self) -> None:
        """Forget the whole event window (as etcd compaction does); older watches then get 410 Gone."""
        self._events.compact(self._rv)

    # --- helpers for controllers ------------------------------------------------------------------------

    def owned_by(
        self, uid: str, types: Iterable[ResourceType] | None = None
    ) -> builtins.list[tuple[ResourceType, Obj]]:
        """Every stored object with an ownerReference to ``uid``, in type/namespace/name order."""
        wanted = None if types is None else {rt.key for rt in types}
        found = []
        for key, ns, name in self._index.dependents(uid):
            if wanted is not None and key not in wanted:
                continue
            rt = self._types.get(key)
            obj = self._objects.get(key, {}).get((ns, name))
            if rt is not None and obj is not None:
                found.append((rt, obj))
        return found

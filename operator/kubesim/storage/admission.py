"""What admission sees of a write (apiserver's ``admission.Attributes``): the verb, the type, the objects, and the
requester, through whom admission answers with warnings and audit annotations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kubesim.api.resources import ResourceType
from kubesim.storage.objects import Obj


@dataclass(slots=True)
class Requester:
    """The user a request runs as (after impersonation) and what admission tells them back."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    dry_run: bool = False
    # a deletecollection: the real server admits each item with no name in its attributes ("Unknown" in messages)
    collection: bool = False
    warnings: list[str] = field(default_factory=list)  # sent as Warning headers
    annotations: dict[str, str] = field(default_factory=dict)  # audit annotations


@dataclass
class Operation:
    """What admission sees: the verb, the type, the subresource, the new object (mutable) and the old one."""

    verb: str  # create | update | delete
    rt: ResourceType
    obj: Obj
    old: Obj | None
    subresource: str | None = None
    user: str = ""
    strict: bool = False  # the request's fieldValidation=Strict
    requester: Requester | None = None  # None for the server's own writes (controllers)
    namespace: str = ""  # the request's namespace ("" for cluster-scoped resources)


Admission = Callable[[Operation], None]

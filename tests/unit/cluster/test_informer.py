"""The informer over a scripted API: it lists, watches from the list's version, resumes where it stopped, lists again
when its version is gone (reporting what was deleted meanwhile), and tells which namespaces changed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from deployreq import errors
from deployreq.cluster import informer
from deployreq.cluster.informer import Informer, Mirror

Obj = dict[str, Any]


def obj(namespace: str, name: str, rv: int, **extra: Any) -> Obj:
    return {"metadata": {"namespace": namespace, "name": name, "resourceVersion": str(rv)}, **extra}


def event(kind: str, body: Obj) -> Obj:
    return {"type": kind, "object": body}


class ScriptedApi:
    """Serves scripted list pages and watch streams; records what was asked."""

    def __init__(self, lists: list[list[Obj]], watches: list[list[Obj] | Exception]) -> None:
        self.lists = lists  # each listing: its pages, each page a full list body
        self.watches = watches  # each watch: its events, or an exception raised when it is opened
        self.list_params: list[dict[str, str]] = []
        self.watch_params: list[dict[str, str]] = []
        self.done = asyncio.Event()

    async def get(self, path: str, params: dict[str, str]) -> Obj:
        self.list_params.append(dict(params))
        pages = self.lists[0]
        page = pages.pop(0)
        if not pages:
            self.lists.pop(0)
        return page

    async def watch(self, path: str, params: dict[str, str]) -> AsyncIterator[Obj]:
        self.watch_params.append(dict(params))
        if not self.watches:
            self.done.set()
            await asyncio.Event().wait()  # an idle watch
        script = self.watches.pop(0)
        if isinstance(script, Exception):
            raise script
        for item in script:
            if isinstance(item, Exception):
                raise item
            yield item


def page(items: list[Obj], rv: int, token: str = "") -> Obj:
    meta: Obj = {"resourceVersion": str(rv)}
    if token:
        meta["continue"] = token
    return {"items": items, "metadata": meta}


async def run(api: ScriptedApi, mirror: Mirror, changed: list[str]) -> Informer:
    inf = Informer(api, "/apis/apps/v1/deployments", mirror, changed.append)  # type: ignore[arg-type]
    task = asyncio.create_task(inf.run())
    await asyncio.wait_for(api.done.wait(), 5)
    task.cancel()
    return inf


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(informer, "BACKOFF", (0.001, 0.001))


async def test_lists_every_page_then_watches_from_the_lists_version() -> None:
    api = ScriptedApi(
        lists=[[page([obj("a", "web", 5)], 10, token="t1"), page([obj("b", "api", 7)], 10)]],
        watches=[[event("MODIFIED", obj("a", "web", 11)), event("ADDED", obj("c", "db", 12))]],
    )
    mirror, changed = Mirror(), list[str]()
    inf = await run(api, mirror, changed)
    assert api.list_params == [{"limit": "500"}, {"limit": "500", "continue": "t1"}]
    assert api.watch_params[0]["resourceVersion"] == "10"
    assert api.watch_params[0]["allowWatchBookmarks"] == "true"
    assert mirror.get("a", "web") == obj("a", "web", 11)
    assert [o["metadata"]["name"] for o in mirror.in_namespace("c")] == ["db"]
    assert inf.synced.is_set()
    assert sorted(changed) == ["a", "a", "b", "c"]  # the listing's two namespaces, then each event's


async def test_a_watch_that_ends_resumes_from_the_last_version_seen_including_bookmarks() -> None:
    bookmark = event("BOOKMARK", {"metadata": {"resourceVersion": "40"}})
    api = ScriptedApi(
        lists=[[page([], 10)]],
        watches=[[event("ADDED", obj("a", "web", 20)), bookmark], [], ConnectionResetError("cut")],
    )
    mirror, changed = Mirror(), list[str]()
    await run(api, mirror, changed)
    assert [p["resourceVersion"] for p in api.watch_params] == ["10", "40", "40", "40"]
    assert len(api.list_params) == 1  # resumed, never listed again
    assert changed == ["a"]  # a bookmark changes nothing


async def test_gone_lists_again_and_reports_what_was_deleted_meanwhile() -> None:
    gone = event("ERROR", {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"})
    api = ScriptedApi(
        lists=[[page([obj("a", "web", 5), obj("b", "api", 6)], 10)], [page([obj("a", "web", 5)], 90)]],
        watches=[[gone], []],
    )
    mirror, changed = Mirror(), list[str]()
    inf = await run(api, mirror, changed)
    assert mirror.in_namespace("b") == []
    assert mirror.get("a", "web") is not None
    assert sorted(changed) == ["a", "b", "b"]  # the first listing's two, then the deletion
    assert api.watch_params[-1]["resourceVersion"] == "90"
    assert inf.relists == 2


async def test_an_error_opening_the_watch_is_retried_and_410_on_open_relists() -> None:
    api = ScriptedApi(
        lists=[[page([], 10)], [page([], 50)]],
        watches=[
            errors.TransportError("refused"),
            errors.ApiError(410, "Gone", "too old resource version"),
            [event("DELETED", obj("a", "web", 51))],
        ],
    )
    mirror, changed = Mirror(), list[str]()
    await run(api, mirror, changed)
    assert [p["resourceVersion"] for p in api.watch_params] == ["10", "10", "50", "51"]
    assert changed == ["a"]


def test_replace_reports_only_the_namespaces_that_differ() -> None:
    mirror = Mirror()
    mirror.replace([obj("a", "web", 1), obj("b", "api", 2), obj("c", "db", 3)])
    changed = mirror.replace([obj("a", "web", 1), obj("b", "api", 9), obj("d", "new", 4)])
    assert changed == {"b", "c", "d"}
    assert len(mirror) == 3

"""Watches (apiserver's ``handlers/watch.go``): newline-delimited events, chunked and flushed one by one;
replay from a resourceVersion, 410 as an ERROR event, bookmarks, streaming lists, tables, timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from kubesim.api import errors, tables
from kubesim.api.resources import ResourceType
from kubesim.endpoints.codec import JSON, dumps
from kubesim.endpoints.handlers.get import predicate
from kubesim.endpoints.request import ApiRequest, bool_param, wants_table
from kubesim.storage.store import Store
from kubesim.storage.watch import Event, Watcher

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def initial_events(request: web.Request) -> bool:
    """``sendInitialEvents=true`` on a watch, validated as kube-apiserver's ValidateListOptions does."""
    if "sendInitialEvents" not in request.query:
        if request.query.get("resourceVersionMatch"):
            raise _list_options_invalid(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            )
        return False
    if request.query.get("resourceVersionMatch") != "NotOlderThan":
        raise _list_options_invalid(
            "resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
        )
    return bool_param(request, "sendInitialEvents")


def _list_options_invalid(field: str, message: str) -> errors.ApiError:
    return errors.invalid(
        "ListOptions",
        "meta.k8s.io",
        "",
        [errors.Cause(field, f"Forbidden: {message}", "FieldValueForbidden")],
    )


def _initial_events_end(rt: ResourceType, resource_version: int) -> bytes:
    """The BOOKMARK that ends a streaming list's initial events (client-go's WatchList waits for it)."""
    mark = {
        "kind": rt.kind,
        "apiVersion": rt.api_version,
        "metadata": {"resourceVersion": str(resource_version), "annotations": {INITIAL_EVENTS_END: "true"}},
    }
    return dumps({"type": "BOOKMARK", "object": mark}) + b"\n"


def _bookmark(rt: ResourceType, resource_version: int) -> bytes:
    mark = {
        "kind": rt.kind,
        "apiVersion": rt.api_version,
        "metadata": {"resourceVersion": str(resource_version)},
    }
    return dumps({"type": "BOOKMARK", "object": mark}) + b"\n"


def event_line(rt: ResourceType, event: Event, table: bool, first: bool) -> bytes:
    obj: Any = event.object
    if table:
        obj = tables.to_table(rt, [obj], obj["metadata"]["resourceVersion"], with_columns=first)
        return dumps({"type": event.type, "object": obj}) + b"\n"
    line = event.wire.get(event.type)  # every watcher of the type gets the same bytes: encode once
    if line is None:
        line = event.wire[event.type] = dumps({"type": event.type, "object": obj}) + b"\n"
    return line


@dataclass
class _Stream:
    """One watch's state while it streams."""

    store: Store
    r: ApiRequest
    response: web.StreamResponse
    watcher: Watcher
    timeout: float
    bookmarks: bool
    bookmark_interval: float
    initial_left: int  # initial events still to send before the end marker; -1: none expected

    async def run(self) -> None:
        rt = self.r.target.rt
        table = wants_table(self.r.http)
        deadline = time.monotonic() + self.timeout
        next_bookmark = time.monotonic() + self.bookmark_interval
        first_table = True
        sent = 0
        snapshot_rv = self.store.resource_version
        while True:
            if self.initial_left == 0:
                await self.response.write(_initial_events_end(rt, snapshot_rv))
                self.initial_left = -1
            now = time.monotonic()
            if now >= deadline:
                break
            wait = min(deadline - now, 1.0)  # wake up at least every second to notice a gone client
            if self.bookmarks:
                wait = min(wait, max(0.0, next_bookmark - now))
            try:
                event = await asyncio.wait_for(self.watcher.queue.get(), wait)
            except TimeoutError:
                transport = self.r.http.transport
                if transport is None or transport.is_closing():
                    break
                if self.bookmarks and time.monotonic() >= next_bookmark:
                    await self.response.write(_bookmark(rt, self.store.resource_version))
                    next_bookmark = time.monotonic() + self.bookmark_interval
                continue
            if event is None:
                break
            await self.response.write(event_line(rt, event, table, first_table))
            first_table = False
            sent += 1
            self.initial_left -= 1 if self.initial_left > 0 else 0
            if self.r.cut_after is not None and sent >= self.r.cut_after:
                break


async def watch(
    store: Store, r: ApiRequest, bookmark_interval: float, streams: set[web.StreamResponse]
) -> web.StreamResponse:
    t = r.target
    request = r.http
    selected = predicate(request, t.rt)
    since = r.query("resourceVersion")
    timeout = float(r.query("timeoutSeconds") or 1800)
    bookmarks = r.bool_param("allowWatchBookmarks")
    initial = initial_events(request)
    if initial:  # a streaming list (WatchList): the current state as ADDED, then a marked BOOKMARK
        since = ""
    response = web.StreamResponse(headers={"Content-Type": JSON, "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    try:
        watcher = store.watch(t.rt, t.namespace, since, selected)
    except errors.ApiError as err:
        if err.code != 410:
            raise
        await response.prepare(request)
        await response.write(dumps({"type": "ERROR", "object": err.to_status()}) + b"\n")
        await response.write_eof()
        return response
    await response.prepare(request)
    streams.add(response)
    # The initial events are the ones queued when the watch opened; the end marker follows the last of them.
    initial_left = watcher.queue.qsize() if initial else -1
    stream = _Stream(store, r, response, watcher, timeout, bookmarks, bookmark_interval, initial_left)
    try:
        await stream.run()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        watcher.close()
        streams.discard(response)
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await response.write_eof()
    return response

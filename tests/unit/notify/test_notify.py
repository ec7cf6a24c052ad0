"""Webhook notifications: terminal phases delivered, a dead receiver delays nothing, retries are bounded."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import time
from typing import Any

import httpx
import pytest

from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.cluster import kube
from deployreq.notify import (
    Dispatcher,
    Event,
    SlackNotifier,
    WebhookNotifier,
    add_notify_flags,
    load_notifier,
    notify_settings_from,
)

SECRET_URL = "https://hooks.example/T0/secret-token"


def req(name: str = "web-1", message: str = "rolled out") -> Request:
    return Request.parse(
        {
            "metadata": {"name": name, "namespace": "shop", "generation": 1},
            "spec": {
                "deployment": "web",
                "images": [{"container": "app", "image": "registry.example/web:1.3"}],
            },
            "status": {"message": message},
        }
    )


class Recorder:
    def __init__(self, fail_first: int = 0, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.calls = 0
        self.fail_first = fail_first
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.fail_first:
            return httpx.Response(503)
        self.bodies.append(json.loads(request.content))
        return httpx.Response(self.status)


async def no_sleep(_: float) -> None:
    return None


async def test_each_terminal_phase_is_delivered_as_json_and_others_are_not() -> None:
    recorder = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        dispatcher = Dispatcher(WebhookNotifier(SECRET_URL, client))
        for phase in Phase:
            dispatcher.observe("shop", req(), phase)
        await dispatcher.drain()
    assert [b["phase"] for b in recorder.bodies] == ["Succeeded", "Failed", "RolledBack"]
    assert recorder.bodies[0] == {
        "kind": "DeploymentRequest",
        "namespace": "shop",
        "name": "web-1",
        "deployment": "web",
        "phase": "Succeeded",
        "message": "rolled out",
        "images": [{"container": "app", "image": "registry.example/web:1.3"}],
        "generation": 1,
    }


async def test_slack_format_posts_text_and_a_coloured_attachment() -> None:
    recorder = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        await SlackNotifier(SECRET_URL, client).send(Event.of("shop", req(message="boom"), Phase.FAILED))
    (body,) = recorder.bodies
    assert body["text"] == "DeploymentRequest shop/web-1 Failed (deployment web)"
    assert body["attachments"][0]["color"] == "danger"
    assert body["attachments"][0]["text"] == "boom"


async def test_a_receiver_that_is_down_delays_nothing_and_is_retried_then_given_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}")

    sleeps: list[float] = []

    async def record_sleep(delay: float) -> None:
        sleeps.append(delay)
        await asyncio.sleep(0)

    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as client:
        dispatcher = Dispatcher(
            WebhookNotifier(SECRET_URL, client), attempts=4, backoff=1.0, max_backoff=3.0, sleep=record_sleep
        )
        dispatcher.start()
        started = time.monotonic()
        dispatcher.observe("shop", req(), Phase.SUCCEEDED)
        assert time.monotonic() - started < 0.05  # observe returns at once, nothing awaited
        for _ in range(200):
            if dispatcher.failed:
                break
            await asyncio.sleep(0.01)
        await dispatcher.stop()
    assert dispatcher.failed == 1 and dispatcher.sent == 0
    assert sleeps == [1.0, 2.0, 3.0]  # exponential, capped, one fewer than the attempts
    assert "not delivered after 4 attempts" in caplog.text
    assert "secret-token" not in caplog.text


async def test_transient_failures_are_retried_until_delivered() -> None:
    recorder = Recorder(fail_first=2)
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        dispatcher = Dispatcher(WebhookNotifier(SECRET_URL, client), attempts=5, sleep=no_sleep)
        dispatcher.observe("shop", req(), Phase.ROLLED_BACK)
        await dispatcher.drain()
    assert recorder.calls == 3 and dispatcher.sent == 1
    assert recorder.bodies[0]["phase"] == "RolledBack"


async def test_a_full_queue_drops_the_oldest_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        dispatcher = Dispatcher(WebhookNotifier(SECRET_URL, client), max_queue=2)
        with caplog.at_level(logging.WARNING):
            for name in ("a", "b", "c"):
                dispatcher.observe("shop", req(name), Phase.SUCCEEDED)
        await dispatcher.drain()
    assert [b["name"] for b in recorder.bodies] == ["b", "c"]
    assert dispatcher.dropped == 1
    assert "dropping Succeeded of shop/a" in caplog.text


def test_flags_parse_the_secret_reference_and_reject_a_malformed_one() -> None:
    parser = argparse.ArgumentParser()
    add_notify_flags(parser)
    settings = notify_settings_from(
        parser.parse_args(["--notify-webhook-secret", "ops/hook", "--notify-format", "slack"])
    )
    assert (settings.secret_namespace, settings.secret_name, settings.format) == ("ops", "hook", "slack")
    assert settings.enabled
    assert not notify_settings_from(parser.parse_args([])).enabled
    with pytest.raises(ValueError, match="--notify-webhook-secret"):
        notify_settings_from(parser.parse_args(["--notify-webhook-secret", "hook"]))


class FakeKube:
    def __init__(self, secret: dict[str, Any]) -> None:
        self.secret = secret
        self.paths: list[str] = []

    async def get(self, path: str) -> dict[str, Any]:
        self.paths.append(path)
        return self.secret

    async def read_secret(self, namespace: str, name: str) -> dict[str, Any]:
        return await self.get(kube.secret_path(namespace, name))


async def test_the_webhook_url_comes_from_the_secret_key_url_and_errors_never_show_it() -> None:
    parser = argparse.ArgumentParser()
    add_notify_flags(parser)
    settings = notify_settings_from(parser.parse_args(["--notify-webhook-secret", "ops/hook"]))
    recorder = Recorder()
    encoded = base64.b64encode(SECRET_URL.encode()).decode()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as client:
        api = FakeKube({"data": {"url": encoded}})
        notifier = await load_notifier(api.read_secret, settings, client)
        await notifier.send(Event.of("shop", req(), Phase.SUCCEEDED))
        assert api.paths == ["/api/v1/namespaces/ops/secrets/hook"]
        assert recorder.bodies[0]["phase"] == "Succeeded"
        bad = base64.b64encode(b"ftp://secret-token").decode()
        with pytest.raises(ValueError, match="not an http") as info:
            await load_notifier(FakeKube({"data": {"url": bad}}).read_secret, settings, client)
        assert "secret-token" not in str(info.value)
        with pytest.raises(ValueError, match="no key 'url'"):
            await load_notifier(FakeKube({"data": {}}).read_secret, settings, client)

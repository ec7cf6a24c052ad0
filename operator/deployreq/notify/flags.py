"""The ``deployreq run`` notification flags, and the notifier built from them once at startup."""

from __future__ import annotations

import argparse
import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from deployreq.notify.event import Notifier
from deployreq.notify.slack import SlackNotifier
from deployreq.notify.webhook import WebhookNotifier


@dataclass(frozen=True)
class NotifySettings:
    secret_namespace: str | None
    secret_name: str | None
    format: str

    @property
    def enabled(self) -> bool:
        return self.secret_name is not None


def add_notify_flags(parser: argparse.ArgumentParser) -> None:
    """Add the notification flags to the ``run`` parser."""
    group = parser.add_argument_group("notifications")
    group.add_argument(
        "--notify-webhook-secret",
        default=None,
        metavar="NS/NAME",
        help="a Secret whose key 'url' is the webhook that hears of finished requests (off when unset)",
    )
    group.add_argument(
        "--notify-format",
        choices=("json", "slack"),
        default="json",
        help="the webhook payload: a generic JSON object or a Slack-compatible message (default json)",
    )


def notify_settings_from(args: argparse.Namespace) -> NotifySettings:
    """The settings of parsed flags; ValueError naming the flag when NS/NAME is malformed."""
    ref = args.notify_webhook_secret
    if ref is None:
        return NotifySettings(None, None, args.notify_format)
    namespace, sep, name = str(ref).partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise ValueError(f"--notify-webhook-secret: expected NS/NAME, got {ref!r}")
    return NotifySettings(namespace, name, args.notify_format)


ReadSecret = Callable[[str, str], Awaitable[Mapping[str, Any]]]
"""Reads a Secret by namespace and name (the caller's API client; notify itself talks to no API)."""


async def load_notifier(
    read_secret: ReadSecret, settings: NotifySettings, client: httpx.AsyncClient
) -> Notifier:
    """Read the webhook URL from the Secret; ValueError (without the URL) when it is missing or not http(s)."""
    if settings.secret_namespace is None or settings.secret_name is None:
        raise ValueError("notifications are off: no --notify-webhook-secret")
    secret = await read_secret(settings.secret_namespace, settings.secret_name)
    ref = f"{settings.secret_namespace}/{settings.secret_name}"
    encoded = (secret.get("data") or {}).get("url")
    if not encoded:
        raise ValueError(f"Secret {ref} has no key 'url'")
    url = base64.b64decode(encoded).decode().strip()
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"Secret {ref} key 'url' is not an http(s) URL")
    if settings.format == "slack":
        return SlackNotifier(url, client)
    return WebhookNotifier(url, client)

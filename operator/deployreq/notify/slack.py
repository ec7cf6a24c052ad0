"""A Slack-compatible incoming-webhook payload (``text`` plus one attachment coloured by outcome)."""

from __future__ import annotations

from typing import Any

from deployreq.api.phases import Phase
from deployreq.notify.event import Event
from deployreq.notify.webhook import WebhookNotifier

_COLOURS = {Phase.SUCCEEDED: "good", Phase.FAILED: "danger", Phase.ROLLED_BACK: "warning"}


def slack_payload(event: Event) -> dict[str, Any]:
    images = ", ".join(f"{c}={i}" for c, i in sorted(event.images.items()))
    text = f"DeploymentRequest {event.namespace}/{event.name} {event.phase} (deployment {event.deployment})"
    return {
        "text": text,
        "attachments": [
            {
                "color": _COLOURS.get(event.phase, "#808080"),
                "text": event.message or str(event.phase),
                "fields": [{"title": "Images", "value": images, "short": False}],
            }
        ],
    }


class SlackNotifier(WebhookNotifier):
    """A :class:`WebhookNotifier` that posts the Slack message shape."""

    def payload(self, event: Event) -> dict[str, Any]:
        return slack_payload(event)

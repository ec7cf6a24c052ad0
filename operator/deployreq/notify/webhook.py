"""A generic JSON webhook: POSTs the event as a JSON object."""

from __future__ import annotations

from typing import Any

import httpx

from deployreq.api import names
from deployreq.notify.event import Event


def json_payload(event: Event) -> dict[str, Any]:
    return {
        "kind": names.KIND,
        "namespace": event.namespace,
        "name": event.name,
        "deployment": event.deployment,
        "phase": str(event.phase),
        "message": event.message,
        "images": [{"container": c, "image": i} for c, i in sorted(event.images.items())],
        "generation": event.generation,
    }


class WebhookNotifier:
    """POSTs a payload to a URL; any non-2xx answer raises. The URL is never put in logs or exceptions."""

    def __init__(self, url: str, client: httpx.AsyncClient, timeout: float = 10.0) -> None:
        self._url = url
        self._client = client
        self._timeout = timeout

    def payload(self, event: Event) -> dict[str, Any]:
        return json_payload(event)

    async def send(self, event: Event) -> None:
        try:
            response = await self._client.post(self._url, json=self.payload(event), timeout=self._timeout)
        except httpx.HTTPError as exc:
            # httpx messages can include the URL; keep only the error class
            raise DeliveryError(f"webhook unreachable ({type(exc).__name__})") from None
        if not response.is_success:
            raise DeliveryError(f"webhook answered HTTP {response.status_code}")


class DeliveryError(Exception):
    """A delivery that failed; the message never contains the webhook URL."""

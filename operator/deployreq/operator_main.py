"""Starting the operator: credentials, the shared API client, workers, and kopf with an explicit registry."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from deployreq import kube
from deployreq.actions import Actions
from deployreq.cache import Cache
from deployreq.config import Settings
from deployreq.events import Recorder
from deployreq.handlers import build_registry
from deployreq.worker import Context, Workers

log = logging.getLogger(__name__)


def configure_logging(settings: Settings) -> None:
    log_format = kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.PLAIN
    kopf.configure(verbose=settings.verbose, debug=settings.verbose, log_format=log_format)
    logging.getLogger("httpx").setLevel(logging.WARNING)


async def run_operator(settings: Settings, credentials: kube.Credentials,
                       stop_flag: asyncio.Event | None = None) -> None:
    client = kube.Kube(credentials, attempts=settings.api_retry_attempts, backoff=settings.api_retry_backoff_seconds,
                       user_agent=f"deployreq/{settings.identity}")
    cache = Cache()
    recorder = Recorder(client, settings.identity)
    ctx = Context(settings=settings, client=client, cache=cache, actions=Actions(client, cache, recorder),
                  recorder=recorder)
    workers = Workers(ctx)
    registry = build_registry(settings, workers)

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(
            server=credentials.server,
            token=credentials.token,
            ca_path=credentials.ca_file,
            certificate_path=credentials.cert_file,
            private_key_path=credentials.key_file,
            insecure=not credentials.verify,
            default_namespace="default",
        )

    try:
        await kopf.operator(
            registry=registry,
            standalone=True,
            clusterwide=settings.all_namespaces,
            namespaces=settings.namespaces,
            stop_flag=stop_flag,
        )
    finally:
        await client.close()

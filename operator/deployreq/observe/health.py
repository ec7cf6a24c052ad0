"""The probe endpoint of a standby replica.

kopf serves ``/healthz`` only while the operator runs, and a standby runs no operator until it leads. Without an
answer on the probe port the kubelet would fail the standby's readiness (an HA rollout with ``maxUnavailable: 0``
never completes) and its liveness (the standby restarts in a loop). So while waiting for leadership the process
answers ``/healthz`` itself, then hands the port to kopf.
"""

from __future__ import annotations

import logging

from aiohttp import web

log = logging.getLogger(__name__)


class StandbyProbe:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def healthz(_: web.Request) -> web.Response:
            return web.json_response({"status": "standby"})

        app = web.Application()
        app.router.add_get("/healthz", healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, reuse_address=True).start()
        log.info("standby: answering probes on %s:%d/healthz", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

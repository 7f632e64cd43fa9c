"""The consumer bootstep of a worker that hosts agents: register them when the worker connects
(again after the broker came back, or the store lost its state), then sweep now and then: re-send
a delivery for any stream where a hosted agent is behind and has not moved since the last sweep
(a publisher that died between storing and publishing, a worker that died mid-run)."""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps

from bus.broker.wire import Delivery
from bus.channels import Stream
from bus.worker.hosting import Hosting, hosting_of
from bus.worker.recovery import Registration

logger = logging.getLogger("bus.worker.hosting")


class HostAgents(bootsteps.StartStopStep):
    """Register the hosted agents when the worker connects, then sweep now and then."""

    requires = ("celery.worker.consumer.connection:Connection",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._hosting: Hosting | None = None
        self._timer: Any = None
        self._last: dict[tuple[str, str], int] = {}
        self._registration: Registration | None = None

    def start(self, parent: Any) -> None:
        hosting = hosting_of(parent.app)
        if hosting is None:
            return
        self._hosting = hosting
        if self._registration is None:
            self._registration = Registration(list(hosting.agents.values()))
        # The consumer restarts when the broker connection comes back: the store may have lost
        # its state meanwhile (a Redis broker and store restarted empty).
        self._registration.on_connect(hosting.bus)
        if parent.app.conf.worker_pool not in ("prefork", "processes"):
            hosting.runtime  # noqa: B018 - handlers run in this process: start hooks now
        logger.info("hosting agents: %s", ", ".join(hosting.agents) or "none")
        self.sweep(first=True)
        self._timer = parent.timer.call_repeatedly(hosting.settings.sweep_interval, self.sweep)

    def stop(self, parent: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def shutdown(self, parent: Any) -> None:
        if self._hosting is not None:
            self._hosting.close()
            self._hosting = None

    def sweep(self, first: bool = False) -> None:
        """Re-send a delivery for each stream a hosted agent is stuck behind on."""
        hosting = self._hosting
        if hosting is None:
            return
        try:
            bus = hosting.bus
            if self._registration is not None and self._registration.on_sweep(bus):
                self._last.clear()
                first = True
            for agent in hosting.agents:
                for stream, position, head in bus.store.leases.backlog(agent):
                    key = (agent, stream)
                    stuck = first or self._last.get(key) == position
                    self._last[key] = position
                    if not stuck:
                        continue
                    parsed = Stream.parse(stream)
                    logger.info(
                        "%s is behind on %s (%s < %s): delivering again",
                        agent,
                        parsed.label,
                        position,
                        head,
                    )
                    bus.broker.publish([Delivery(agent, parsed.channel, head)])
        except Exception:
            logger.exception("sweeping for stalled streams failed")

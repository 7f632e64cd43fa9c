"""The agent-facing API, declared once: each operation's signature and docstring.

- :class:`BusMessaging`: what an agent does through the bus (all an agent client needs);
  :class:`BusOperations` adds channels and registration (:class:`RegistryOperations`) and the
  lifecycle: all of :class:`bus.Bus`.
- :class:`AgentOperations`: one agent's view, :class:`bus.AgentClient`.

What is built from it:

- ``Bus`` and ``AgentClient`` subclass their protocol, so mypy checks each method against its
  declaration; :func:`documented` gives each method the declared docstring.
- ``AsyncBus`` and ``AsyncAgentClient`` (:mod:`bus.aio`) derive theirs: ``publish =
  awaited(BusOperations.publish)`` is ``async def publish`` with the declared signature and
  docstring. Only what differs in asyncio (starting, stopping, receiving) is written out.
- The handler contexts (:mod:`bus.worker.context`) are agent clients, so they follow.
- ``tests/unit/test_api_parity.py`` fails when any of them differs from the declaration.

To add an operation: declare it here, implement it on ``Bus`` (and ``AgentClient`` for the
agent surface), and give ``AsyncBus`` its ``awaited`` line; the parity test names what is missing.
"""

from bus.api.agent_operations import AgentOperations
from bus.api.bus_operations import BusMessaging, BusOperations
from bus.api.deriving import Awaits, awaited, declarations, documented
from bus.api.registry_operations import RegistryOperations

__all__ = [
    "AgentOperations",
    "Awaits",
    "BusMessaging",
    "BusOperations",
    "RegistryOperations",
    "awaited",
    "declarations",
    "documented",
]

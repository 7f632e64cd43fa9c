"""Access: what every message and action passes before the bus lets it through.

- :mod:`bus.access.guard`: the :class:`~bus.access.guard.Guard` interface (outgoing, admit,
  check) and the open guard of ``BUS_AUTH=off``;
- :mod:`bus.access.choice`: which guard a bus uses (the signing one of :mod:`bus.auth` with
  ``BUS_AUTH=required``, imported only then).
"""

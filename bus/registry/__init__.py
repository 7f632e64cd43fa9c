"""The registry: channels, agents and subscriptions of a namespace, with their caches.

- :mod:`bus.registry.registry`: :class:`~bus.registry.registry.Registry`, one at a time;
- :mod:`bus.registry.bulk`: many agents and subscriptions at once.
"""

"""The registry: channels, agents and subscriptions of a namespace, with their caches.

- :mod:`bus.registry.service`: :class:`~bus.registry.service.Registry`, one at a time;
- :mod:`bus.registry.bulk`: many agents and subscriptions at once;
- :mod:`bus.registry.cache`: the cached channel specs and known agents, cleared on a store reset.
"""

"""The servers a bus stands on: connecting to them, probing them, tearing a namespace down.

- :mod:`bus.servers.connect`: what :meth:`bus.Bus.start` and :meth:`bus.Bus.destroy` do first
  and last;
- :mod:`bus.servers.lifecycle`: the store a bus stands on over its life (resolved when the
  bus is made, connected at start, closed at stop, its namespace deleted at destroy);
- :mod:`bus.servers.probes`: is the store or broker reachable, and how long it took to say.
"""

"""The servers a bus stands on: connecting to them, probing them, tearing a namespace down.

- :mod:`bus.servers.connect`: what :meth:`bus.Bus.start` and :meth:`bus.Bus.destroy` do first
  and last;
- :mod:`bus.servers.probes`: is the store or broker reachable, and how long it took to say.
"""

"""Publishing: a message validated, guarded, appended to its stream and delivered; and
request/reply on top of it.

- :mod:`bus.publishing.publisher`: :class:`~bus.publishing.publisher.Publisher` (post);
- :mod:`bus.publishing.requests`: a request, and the wait for its reply in the store.
"""

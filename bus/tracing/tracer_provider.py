"""The tracer provider bus's spans go to, and whether it records anything.

:mod:`bus.tracing.setup` installs the SDK's provider as the global one (``BUS_OTEL=true``);
:func:`use_tracer_provider` sets one for bus alone instead (tests, programs that keep several).
:mod:`bus.tracing.spans` asks :func:`active` before making any span, and makes them with
:func:`tracer`. With no provider configured, :func:`active` is false and costs next to nothing.
"""

from __future__ import annotations

import os
from functools import cache

from opentelemetry import trace
from opentelemetry.trace import Tracer, TracerProvider

_INACTIVE = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
#: A provider given to :func:`use_tracer_provider` instead of the global one.
_provider: TracerProvider | None = None


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Make bus's spans go to ``provider`` instead of the global tracer provider (``None``: the
    global one again). For tests and for programs that keep several providers."""
    global _provider
    _provider = provider


def active() -> bool:
    """Whether spans are recorded: a tracer provider (an SDK) is configured.

    Called on every publish, delivery and receive, so the answer for "none configured" must
    cost next to nothing: the API's ``get_tracer_provider()`` looks the environment up each
    time it finds none set (~2 µs here), so the global is read directly while it is unset and
    no ``OTEL_PYTHON_TRACER_PROVIDER`` names one (the public call otherwise)."""
    if _provider is not None:
        return not isinstance(_provider, _INACTIVE)
    if getattr(trace, "_TRACER_PROVIDER", _UNKNOWN) is None and not _provider_in_environment():
        return False
    return not isinstance(trace.get_tracer_provider(), _INACTIVE)


_UNKNOWN = object()


@cache
def _provider_in_environment() -> bool:
    # Read once: a provider named in the environment is loaded by the first public call.
    return "OTEL_PYTHON_TRACER_PROVIDER" in os.environ


@cache
def _tracer_of(provider: TracerProvider) -> Tracer:
    return provider.get_tracer("bus")


def tracer() -> Tracer:
    """bus's tracer of the provider in use."""
    return _tracer_of(_provider if _provider is not None else trace.get_tracer_provider())

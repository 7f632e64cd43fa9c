"""``BUS_OTEL=true``: configure the OpenTelemetry SDK (the ``otel`` extra) in this process.

The SDK reads the standard variables: ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``
(the resource), ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` (sampling),
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` and ``..._HEADERS``
(where spans go, OTLP over HTTP), ``OTEL_BSP_*`` (batching). ``OTEL_TRACES_EXPORTER`` picks the
exporter: ``otlp`` (the default), ``console`` or ``none`` (spans are made, batched and
dropped: what tracing costs a process, without a collector). Nothing of the SDK is imported
unless :func:`configure_tracing` is called with ``BUS_OTEL=true``.

A prefork worker configures it in each child after the fork (a batch processor's thread does
not survive a fork), and every process flushes what it has on shutdown
(:func:`shutdown_tracing`), so the spans of a child that exits are not lost.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry import trace

from bus.errors import ConfigurationError
from bus.settings import BusSettings

logger = logging.getLogger(__name__)

#: The provider :func:`configure_tracing` installed in this process (``None``: none).
_installed: Any = None


def _sdk() -> tuple[Any, Any, Any, Any]:
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError as exc:
        raise ConfigurationError(
            "BUS_OTEL=true needs the OpenTelemetry SDK: pip install 'bus[otel]' "
            f"(cannot import it: {exc})",
            setting="BUS_OTEL",
        ) from None
    return Resource, TracerProvider, BatchSpanProcessor, ConsoleSpanExporter


def _exporter(console: Any) -> Any:
    """The exporter ``OTEL_TRACES_EXPORTER`` names (``otlp`` by default)."""
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if chosen == "none":
        return discarding()
    if chosen == "console":
        return console()
    if chosen != "otlp":
        raise ConfigurationError(
            f"OTEL_TRACES_EXPORTER={chosen!r}: bus configures 'otlp', 'console' or 'none'",
            setting="OTEL_TRACES_EXPORTER",
        )
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ConfigurationError(
            "BUS_OTEL=true exports over OTLP/HTTP: pip install 'bus[otel]' "
            f"(cannot import the exporter: {exc})",
            setting="BUS_OTEL",
        ) from None
    return OTLPSpanExporter()


def discarding() -> Any:
    """A span exporter that drops what it is given (``OTEL_TRACES_EXPORTER=none``)."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Discarding(SpanExporter):
        def export(self, spans: Any) -> Any:
            return SpanExportResult.SUCCESS

    return Discarding()


def require_sdk(settings: BusSettings) -> None:
    """Check, with ``BUS_OTEL=true``, that the SDK and the chosen exporter can be imported
    (without configuring anything): a worker checks it before it forks.

    Raises:
        ConfigurationError: as :func:`configure_tracing`.
    """
    if settings.otel:
        _exporter(_sdk()[3])


def configure_tracing(settings: BusSettings, service: str) -> bool:
    """With ``BUS_OTEL=true``, install an SDK tracer provider in this process (once), exporting
    as the ``OTEL_*`` variables say; ``service`` names it unless ``OTEL_SERVICE_NAME`` does.

    Returns:
        Whether tracing is configured now.

    Raises:
        ConfigurationError: ``BUS_OTEL=true`` and the ``otel`` extra is not installed, or
            ``OTEL_TRACES_EXPORTER`` names an exporter bus does not configure.
    """
    global _installed
    if not settings.otel:
        return False
    if _installed is not None:
        return True
    resource_cls, provider_cls, batch_cls, console_cls = _sdk()
    exporter = _exporter(console_cls)
    resource = resource_cls.create({})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(resource_cls({"service.name": service}))
    provider = provider_cls(resource=resource)
    provider.add_span_processor(batch_cls(exporter))
    trace.set_tracer_provider(provider)
    _installed = provider
    logger.info("OpenTelemetry tracing on: service %s", resource.attributes.get("service.name"))
    return True


def shutdown_tracing() -> None:
    """Flush and stop the provider :func:`configure_tracing` installed (if any)."""
    global _installed
    provider, _installed = _installed, None
    if provider is not None:
        provider.force_flush()
        provider.shutdown()

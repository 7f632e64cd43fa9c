"""BUS_OTEL: the SDK is imported only when asked for, a missing extra is a ConfigurationError,
and log lines name the trace, span, message and cause they are logged in."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid

import pytest
from opentelemetry import trace

from bus.errors import ConfigurationError
from bus.message import Message
from bus.settings import BusSettings
from bus.settings.logs import ContextFormatter, JsonFormatter
from bus.tracing import handling, processing
from bus.tracing.causation import Cause
from bus.tracing.setup import require_sdk
from tests.tracing.conftest import Spans, span_id, trace_id


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )


def test_without_bus_otel_a_bus_publishes_and_receives_without_importing_the_sdk() -> None:
    # Only the SDK's tracing and the exporters are bus's to import: redis-py 8 imports the
    # SDK's metrics on its own (redis.observability) when the SDK is installed.
    done = _python(
        "import sys\n"
        "from bus import Bus, BusSettings\n"
        "from bus.tracing import configure_tracing\n"
        "with Bus(BusSettings()) as bus:\n"
        "    assert not configure_tracing(bus.settings, 'test')\n"
        "    alice = bus.agent('alice', channels=['#engineering'])\n"
        "    bus.publish('#engineering', 'hi', sender='bob')\n"
        "    assert alice.receive(timeout=5).content == 'hi'\n"
        "print(sorted(m for m in sys.modules if m.startswith(WHAT)))\n".replace(
            "WHAT", "('opentelemetry.sdk.trace', 'opentelemetry.exporter')"
        )
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_bus_otel_without_the_extra_is_a_configuration_error() -> None:
    # The SDK made unimportable, as in an install without bus[otel].
    done = _python(
        "import sys\n"
        "sys.modules['opentelemetry.sdk'] = None\n"
        "from bus.errors import ConfigurationError\n"
        "from bus.settings import BusSettings\n"
        "from bus.tracing.setup import configure_tracing\n"
        "try:\n"
        "    configure_tracing(BusSettings(otel=True), 'test')\n"
        "except ConfigurationError as exc:\n"
        "    print(exc.context['setting'], '|', exc.message)\n"
    )
    assert done.returncode == 0, done.stderr
    setting, text = done.stdout.strip().split(" | ")
    assert setting == "BUS_OTEL"
    assert text.startswith("BUS_OTEL=true needs the OpenTelemetry SDK: pip install 'bus[otel]'")


def test_the_bus_command_with_bus_otel_and_no_extra_exits_2_naming_it() -> None:
    done = _python(
        "import sys\nsys.modules['opentelemetry.sdk'] = None\n"
        "from bus.cli import main\nsys.exit(main(['channels']))\n",
        BUS_OTEL="true",
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("bus: error: BUS_OTEL=true needs the OpenTelemetry SDK")


def test_an_exporter_bus_does_not_configure_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(ConfigurationError) as refused:
        require_sdk(BusSettings(otel=True))
    assert refused.value.context["setting"] == "OTEL_TRACES_EXPORTER"
    require_sdk(BusSettings(otel=False))  # off: nothing is checked or imported


def test_log_lines_in_a_handled_message_carry_its_ids_and_the_span(spans: Spans) -> None:
    message = Message(channel="#engineering", sender="ceo", content="go", causation_id=uuid.uuid4())
    record = logging.LogRecord("tests", logging.WARNING, __file__, 1, "working", None, None)
    with handling(message), processing("alice", message, 1, Cause(message)):
        current = trace.get_current_span().get_span_context()
        as_json = json.loads(JsonFormatter().format(record))
        as_text = ContextFormatter("%(message)s").format(record)
    invoke = spans.one("invoke_agent alice")
    assert (current.trace_id, current.span_id) == (trace_id(invoke), span_id(invoke))
    expected = {
        "message_id": str(message.id),
        "causation_id": str(message.causation_id),
        "trace_id": f"{trace_id(invoke):032x}",
        "span_id": f"{span_id(invoke):016x}",
    }
    assert {key: as_json[key] for key in expected} == expected
    assert as_text == "working " + " ".join(f"{key}={value}" for key, value in expected.items())
    outside = json.loads(JsonFormatter().format(record))
    assert not set(expected) & set(outside)

"""Settings from the environment: a bad ``BUS_*`` value is a ConfigurationError naming it."""

from __future__ import annotations

import pytest

from bus import Bus
from bus.errors import BusError, ConfigurationError
from bus.settings.environment import load_settings


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("BUS_RECEIVE_BATCH", "0", "greater than 0"),
        ("BUS_COALESCE_DELIVERIES", "maybe", "valid boolean"),
        ("BUS_LEASE_SECONDS", "soon", "valid number"),
    ],
)
def test_a_bad_variable_is_a_configuration_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, reason: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert variable in str(caught.value)
    assert reason in str(caught.value)
    assert repr(value) in str(caught.value)
    with pytest.raises(BusError, match=variable):
        Bus()


def test_good_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUS_COALESCE_DELIVERIES", raising=False)
    assert load_settings().coalesce_deliveries is True  # the default (decision 0006)
    monkeypatch.setenv("BUS_RECEIVE_BATCH", "16")
    monkeypatch.setenv("BUS_COALESCE_DELIVERIES", "false")  # the per-message mode
    settings = load_settings()
    assert (settings.receive_batch, settings.coalesce_deliveries) == (16, False)


def test_the_command_line_names_the_bad_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bus.cli import main

    monkeypatch.setenv("BUS_RECEIVE_BATCH", "0")
    assert main(["channels"]) != 0
    assert "invalid settings: BUS_RECEIVE_BATCH: Input should be greater than 0" in (
        capsys.readouterr().err
    )

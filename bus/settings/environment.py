"""Settings read from the environment (``BUS_*`` variables, ``.env``), with errors that name
the variable: what :class:`bus.Bus`, ``celery -A bus`` and the ``bus`` command start from."""

from __future__ import annotations

from pydantic import ValidationError

from bus.errors import ConfigurationError
from bus.settings.schema import BusSettings


def describe(exc: ValidationError) -> str:
    """``invalid settings: BUS_X: <why> (got '<value>'); ...`` for a failed validation."""
    problems = []
    for error in exc.errors(include_url=False):
        where = f"BUS_{str(error['loc'][0]).upper()}" if error["loc"] else "settings"
        shown = error.get("input")
        value = f" (got {shown!r})" if isinstance(shown, str | int | float) else ""
        problems.append(f"{where}: {error['msg']}{value}")
    return "invalid settings: " + "; ".join(problems)


def load_settings() -> BusSettings:
    """The settings the environment describes.

    Raises:
        ConfigurationError: a ``BUS_*`` variable has a value that cannot work (each is named).
    """
    try:
        return BusSettings()
    except ValidationError as exc:
        raise ConfigurationError(describe(exc)) from None

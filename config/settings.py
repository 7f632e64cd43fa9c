"""Deprecated: the settings moved into the package, :mod:`bus.settings` (``from bus.settings
import BusSettings``). This module keeps ``import config.settings`` working from a checkout for
one release."""

import warnings

from bus.settings.schema import BusSettings

warnings.warn(
    "config.settings is deprecated: import BusSettings from bus.settings (or bus)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["BusSettings"]

"""Deprecated: the default channels moved into :mod:`bus.settings.defaults`. This module keeps
``import config.channels`` working from a checkout for one release."""

import warnings

from bus.settings.defaults import BROADCAST_CHANNELS, DEFAULT_CHANNELS

warnings.warn(
    "config.channels is deprecated: use bus.settings.defaults", DeprecationWarning, stacklevel=2
)

__all__ = ["BROADCAST_CHANNELS", "DEFAULT_CHANNELS"]

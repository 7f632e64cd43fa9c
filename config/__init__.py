"""Settings and default channel configuration for bus."""

from config.channels import BROADCAST_CHANNELS, DEFAULT_CHANNELS
from config.settings import BusSettings

__all__ = ["BROADCAST_CHANNELS", "DEFAULT_CHANNELS", "BusSettings"]

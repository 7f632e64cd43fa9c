"""What configures a bus: the settings object, where it is read from, and what follows from it.

- :mod:`bus.settings.schema`: :class:`BusSettings`, every ``BUS_*`` variable with its default;
- :mod:`bus.settings.defaults`: the channels a bus starts with;
- :mod:`bus.settings.environment`: reading the environment with errors that name the variable;
- :mod:`bus.settings.urls` and :mod:`bus.settings.transports`: which URLs are accepted and what
  each transport can do;
- :mod:`bus.settings.logs`: text or JSON log lines.
"""

from bus.settings.environment import load_settings
from bus.settings.schema import BusSettings

__all__ = ["BusSettings", "load_settings"]

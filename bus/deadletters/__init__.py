"""Dead letters: messages whose handler kept failing, or that a guard refused.

- :mod:`bus.deadletters.records`: the :class:`~bus.deadletters.records.DeadLetter` record and
  how one is posted on the dead-letter channel;
- :mod:`bus.deadletters.operations`: listing and replaying them.
"""

from bus.deadletters.operations import list_dead_letters, replay
from bus.deadletters.records import DeadLetter

__all__ = ["DeadLetter", "list_dead_letters", "replay"]

"""An agent module that raises as it is imported (for the clean-failure tests)."""

from __future__ import annotations

raise RuntimeError("this agent module fails on import")

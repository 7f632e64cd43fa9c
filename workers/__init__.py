"""Agent definitions that Celery workers host (``BUS_AGENT_MODULES`` names which modules)."""

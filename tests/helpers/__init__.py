"""Small programs the tests run as subprocesses (``python -m tests.helpers.<name>``)."""

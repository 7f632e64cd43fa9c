"""What the ``bus auth`` commands share: the auth store of the configured bus, and output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bus.auth.storage import AuthStore, open_auth_store
from bus.servers.probes import check_store
from bus.settings import BusSettings
from bus.settings.transports import resolve_store_url


@contextmanager
def auth_store(settings: BusSettings) -> Iterator[AuthStore]:
    """The auth store of the bus ``settings`` describe (the store must answer)."""
    check_store(settings)
    url = resolve_store_url(settings.broker_url, settings.store_url)
    store = open_auth_store(url, settings.namespace, settings.sentinel_master)
    try:
        yield store
    finally:
        store.close()


def print_result(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    """Print ``data`` as JSON with ``--json``, else ``text``."""
    print(json.dumps(data, ensure_ascii=False) if args.json else text, flush=True)

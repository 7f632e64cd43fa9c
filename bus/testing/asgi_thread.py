"""An ASGI app (the console's) served by uvicorn in a thread of this process, on a free
loopback port: what the console's tests and its benchmark open pages and event streams on."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def served(app: Any, *, start_timeout: float = 10.0) -> Iterator[str]:
    """``app`` served on 127.0.0.1 until the block ends; yields its base URL.

    Raises:
        TimeoutError: it did not start within ``start_timeout`` seconds.
    """
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout
        while not server.started:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app did not start within {start_timeout:g} s")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()

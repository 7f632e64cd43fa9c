"""A fake LLM server on loopback that the OpenAI and Anthropic SDKs talk to, after a latency.

For the demo, the tests and the benchmark: agents' handlers spend their time waiting on an LLM
API, and this stands in for one without a network. It serves, plain and streamed
(``"stream": true``: server-sent events, as the real APIs send them):

- OpenAI: ``POST /v1/chat/completions``, ``POST /v1/responses``, ``GET /v1/models`` (also
  without ``/v1``): ``openai.AsyncOpenAI(base_url=f"{llm.url}/v1", api_key="x")``;
- Anthropic: ``POST /v1/messages``, ``GET /v1/models``:
  ``anthropic.AsyncAnthropic(base_url=llm.url, api_key="x")``.

The answer echoes the last user text: ``(fake answer after 0.200 s) <prompt>``, cut to
``max_tokens`` words if the request sets it. Each answer waits out a latency first:

- a fixed latency: the server's default, or ``?latency=0.2`` on the request;
- a heavy-tailed one: lognormal with a median, a spread ``sigma`` and a cap, drawn from a
  seeded generator (``?median=0.2&sigma=1&cap=5``, or the server's default). With
  ``&key=<any string>`` the draw depends on the server's seed and the key alone
  (:meth:`Latency.for_key`), so two runs give the same request the same latency.

``?status=503`` (any 4xx or 5xx) answers with that error after the latency, in the APIs' error
shape, as an overloaded API does: the SDKs retry 408, 409, 429 and 5xx. An SDK sends query
parameters with ``extra_query={"latency": 0.5}``, or on every request with ``default_query``.

``GET /stats`` reports requests answered (streamed, failed as asked), requests in flight now and
at most, and the latency served, so a test can prove that requests overlapped;
``POST /stats/reset`` zeroes them.

    python -m bus.demo.fake_llm --port 8089 --latency 0.5      # until Ctrl-C or SIGTERM

    with FakeLLM(latency=0.2) as llm:                    # in a thread of this process
        httpx.post(f"{llm.url}/v1/chat/completions", json={"messages": [...]})
        llm.stats().max_in_flight

One asyncio loop serves hundreds of slow requests at once. Standard library only.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Self

from bus.demo.fake_llm.latency import Latency
from bus.demo.fake_llm.server import FakeLLMServer, Stats

__all__ = ["FakeLLM", "FakeLLMServer", "Latency", "Stats"]


class FakeLLM:
    """The fake LLM server on its own event loop in a daemon thread; a context manager.

    Args:
        latency: Default latency: seconds (fixed) or a :class:`Latency`.
        host: Address to listen on (loopback by default: nothing here is meant for a network).
        port: Port; 0 picks a free one (read :attr:`url`).
        seed: Seed of the random latencies.
    """

    def __init__(
        self,
        latency: float | Latency = 0.2,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
    ) -> None:
        self.server = FakeLLMServer(latency, seed=seed)
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fake-llm", daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:8089`` (once started)."""
        return f"http://{self.host}:{self.port}"

    def stats(self) -> Stats:
        """A copy of the server's counters."""
        return self.server.snapshot()

    def reset(self) -> None:
        """Zero the counters."""
        self.server.reset()

    def start(self, timeout: float = 10.0) -> Self:
        """Start serving; returns once the port is bound.

        Raises:
            OSError: the address cannot be bound. TimeoutError: the thread did not start.
        """
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the fake LLM did not start within {timeout} s")
        if self._failure is not None:
            raise self._failure
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (requests in flight are dropped) and join the thread."""
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start(); the thread has nowhere else
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        listener = await self.server.serve(self.host, self.port)
        self.port = listener.sockets[0].getsockname()[1]
        self._ready.set()
        async with listener:
            await self._stopped.wait()
        # Closing the listener leaves accepted connections (and their sleeping handlers):
        # asyncio.run cancels those tasks on the way out.

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

"""``python -m bus.demo.fake_llm [--host H] [--port P] [--latency S] [--sigma X --cap C] [--seed
N]``.

Prints ``fake LLM on http://H:P`` (the bound port when ``--port 0``) once it listens, then serves
until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from bus.demo.fake_llm.latency import Latency
from bus.demo.fake_llm.server import FakeLLMServer


async def _serve(server: FakeLLMServer, host: str, port: int) -> None:
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    listener = await server.serve(host, port)
    bound = listener.sockets[0].getsockname()[1]
    print(f"fake LLM on http://{host}:{bound}", flush=True)
    async with listener:
        await stopped.wait()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m bus.demo.fake_llm`` and ``bus fake-llm``."""
    parser.add_argument("--host", default="127.0.0.1", help="address (default loopback)")
    parser.add_argument("--port", type=int, default=8089, help="port; 0 picks a free one")
    parser.add_argument("--latency", type=float, default=0.2, help="median latency, seconds")
    parser.add_argument("--sigma", type=float, default=0.0, help="lognormal spread; 0: fixed")
    parser.add_argument("--cap", type=float, default=60.0, help="largest latency, seconds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random latencies")


def serve(args: argparse.Namespace) -> int:
    """Serve with the parsed options until interrupted; the exit status (2: bad options)."""
    try:
        latency = Latency(args.latency, args.sigma, args.cap)
    except ValueError as exc:
        print(f"fake LLM: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_serve(FakeLLMServer(latency, seed=args.seed), args.host, args.port))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the fake LLM server until interrupted; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bus.demo.fake_llm", description=__doc__)
    add_arguments(parser)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

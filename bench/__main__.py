"""``python -m bench [--quick] [--transports memory,redis,amqp] [--only NAMES] [--n N]
[--mem-n M] [--record]``.

Runs the cases of :mod:`bench.cases.registry` (pull, throughput, latency, fanout, peer, scale,
memory, agents, sdk, isolation, auth, otel, receipts, receipts_cost, console, replicas) on each
transport. One JSON line per figure on stdout (and in bench/results/latest.jsonl), then a
markdown table (also
bench/results/latest.md). Progress goes to stderr, a line per case and part. ``--record``
appends the run to bench/history.jsonl; ``python -m bench.readme`` then rewrites the README's
table from it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from bench import history
from bench.cases.base import CaseArgs
from bench.cases.registry import NAMES, run_cases
from bench.common import TRANSPORTS, Record, Run, sweep_redis, unreachable
from bench.report import environment, markdown

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, < 60 s")
    parser.add_argument(
        "--transports",
        default=",".join(TRANSPORTS),
        help="comma-separated subset of memory,redis,amqp",
    )
    parser.add_argument(
        "--n",
        type=int,
        default=None,
        help="messages per throughput figure (default 5000, quick 200)",
    )
    parser.add_argument(
        "--mem-n",
        type=int,
        default=None,
        help="messages of the RSS figure on memory:// (redis: a quarter); "
        "default 200000, quick 2000",
    )
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated cases or parts of cases to run (e.g. throughput, or "
        "bus_hosted,raw_celery); default all",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="append this run to bench/history.jsonl (for full runs)",
    )
    args = parser.parse_args(argv)
    only = tuple(name.strip() for name in args.only.split(",")) if args.only else None
    known = list(NAMES)
    unknown_figures = sorted(set(only or ()) - set(known))
    if unknown_figures:
        parser.error(f"unknown figures {unknown_figures}; choose from {known}")
    wanted = [name.strip() for name in args.transports.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in TRANSPORTS]
    if unknown:
        parser.error(f"unknown transports {unknown}; choose from {', '.join(TRANSPORTS)}")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("amqp").setLevel(logging.ERROR)  # "No hostname was supplied" per connect
    # "Requeuing undeliverable message ... No consumers": memory:// inboxes closed at teardown.
    logging.getLogger("kombu.transport.virtual.base").setLevel(logging.ERROR)

    run = Run(n=args.n or (200 if args.quick else 5000), quick=args.quick)
    case_args = CaseArgs(run=run, quick=args.quick, mem_messages=args.mem_n)
    RESULTS.mkdir(exist_ok=True)
    figures: list[Record] = []
    skipped: dict[str, str] = {}
    started = time.monotonic()
    env = environment()
    with (RESULTS / "latest.jsonl").open("w") as out:

        def emit(item: Record) -> None:
            line = json.dumps(item)
            print(line, flush=True)
            out.write(line + "\n")
            out.flush()
            figures.append(item)

        for transport in wanted:
            reason = unreachable(transport)
            if reason is not None:
                skipped[transport] = reason
                print(f"[bench] skipping {transport}: {reason}", file=sys.stderr)
                emit(
                    {
                        "transport": transport,
                        "figure": "*",
                        "value": None,
                        "unit": None,
                        "n": None,
                        "skipped": reason,
                    }
                )
                continue
            run_cases(transport, case_args, emit, only=only)
    if any(name != "memory" and name not in skipped for name in wanted):
        left = sweep_redis(run.namespace)
        print(f"[bench] deleted {left} Redis keys bus.destroy() left behind", file=sys.stderr)
    env["seconds"] = round(time.monotonic() - started, 1)
    argline = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
    table = markdown(env, [f for f in figures if f["figure"] != "*"], skipped, argline)
    (RESULTS / "latest.md").write_text(table)
    if args.record:
        history.append(history.entry(env, figures, argline))
        print(f"[bench] recorded in {history.HISTORY}", file=sys.stderr)
    print()
    print(table)
    return 1 if any(item.get("error") for item in figures) else 0


if __name__ == "__main__":
    sys.exit(main())

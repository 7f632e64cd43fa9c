"""Subprocesses that join a bus: their environment and their ``celery`` command lines."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bus.settings import BusSettings

#: Settings every subprocess environment names, even at their default values.
_ALWAYS = frozenset({"broker_url", "namespace"})


def _as_env(value: Any) -> str:
    """A setting as ``BusSettings`` reads it back from the environment."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, frozenset | set):
        return ",".join(sorted(value))
    if isinstance(value, tuple | list):
        return ",".join(value)
    return str(value)


def settings_environment(settings: BusSettings) -> dict[str, str]:
    """The ``BUS_*`` variables that rebuild ``settings`` in another process: the broker URL and
    namespace, and every other setting that differs from its default."""
    env: dict[str, str] = {}
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if name not in _ALWAYS and value == field.get_default(call_default_factory=True):
            continue
        if value is not None:  # every setting that may be None defaults to None
            env[f"BUS_{name.upper()}"] = _as_env(value)
    return env


def environment_for(
    settings: BusSettings,
    *,
    pythonpath: Iterable[str | os.PathLike[str]] = (),
    base: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a subprocess that joins the bus of ``settings``.

    ``BUS_*`` variables of ``base`` are dropped (a developer's own settings must not leak in),
    then :func:`settings_environment` is added; this interpreter's ``bin`` directory goes first
    on ``PATH``, so ``celery``, ``bus`` and ``honcho`` are this environment's, venv activated or
    not.

    Args:
        settings: the bus to join.
        pythonpath: directories put before ``PYTHONPATH`` (e.g. the project root, so the
            subprocess imports agent modules of the tests).
        base: the environment to start from; ``os.environ`` when ``None``.
        extra: more variables, set last (``{"BUS_AGENT_MODULES": "tests.echo_agents"}``).

    Returns:
        A new dict; ``base`` is not changed.
    """
    source = os.environ if base is None else base
    env = {key: value for key, value in source.items() if not key.startswith("BUS_")}
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join(filter(None, [bindir, env.get("PATH")]))
    paths = [str(Path(path)) for path in pythonpath]
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [*paths, env.get("PYTHONPATH")]))
    env.update(settings_environment(settings))
    env.update(extra or {})
    return env


def celery_command(app: str, *arguments: str) -> list[str]:
    """``celery -A app arguments...`` run by this interpreter (no installed script needed)."""
    return [sys.executable, "-m", "celery", "-A", app, *arguments]


def worker_command(
    app: str = "bus",
    *,
    pool: str | None = "solo",
    concurrency: int | None = 1,
    loglevel: str = "INFO",
    hostname: str | None = None,
    queues: Iterable[str] = (),
    without: Iterable[str] = ("mingle", "gossip"),
    extra: Iterable[str] = (),
) -> list[str]:
    """The command line of a ``celery -A app worker``: the one every test and benchmark runs.

    Args:
        app: the Celery app module; ``bus`` hosts the agents of ``BUS_AGENT_MODULES``.
        pool: ``--pool`` (``solo``, ``threads``, ``prefork``), or ``None`` for the app's default
            (on bus: ``BUS_WORKER_POOL``).
        concurrency: ``--concurrency``, or ``None`` for Celery's default.
        loglevel: ``--loglevel``; the tests wait for the ``ready.`` line, which needs ``INFO``.
        hostname: ``--hostname`` (``name@host``); make it unique when Flower or a ping must tell
            workers apart.
        queues: ``-Q``: only these queues (the benchmark's raw Celery app).
        without: Celery's start-up features to skip (``--without-mingle`` ...): a test worker
            has no peers worth synchronising with, and skipping them saves seconds.
        extra: more arguments, appended as given.

    Returns:
        The argv, ready for :class:`subprocess.Popen` (with :func:`environment_for`).
    """
    command = celery_command(app, "worker", f"--loglevel={loglevel}")
    if pool is not None:
        command.append(f"--pool={pool}")
    if concurrency is not None:
        command.append(f"--concurrency={concurrency}")
    if hostname is not None:
        command.append(f"--hostname={hostname}")
    queue_list = ",".join(queues)
    if queue_list:
        command += ["-Q", queue_list]
    command += [f"--without-{feature}" for feature in without]
    command += list(extra)
    return command

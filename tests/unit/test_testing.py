"""bus.testing, the support the tests and the benchmark share: settings for a transport, the
environment and command line of a worker subprocess, and the table helper of the tests."""

from __future__ import annotations

import os
import sys

import pytest

from bus.errors import ConfigurationError
from bus.settings import BusSettings
from bus.testing import (
    amqp_url,
    broker_url,
    environment_for,
    redis_url,
    settings_for,
    store_url,
    worker_command,
)
from tests.helpers.cases import Cases


def test_settings_for_each_transport_use_its_servers_in_a_fresh_namespace() -> None:
    memory, redis, amqp = (settings_for(name) for name in ("memory", "redis", "amqp"))
    assert (memory.broker_url, memory.store_url) == ("memory://", None)
    assert (redis.broker_url, redis.store_url) == (redis_url(), None)
    assert (amqp.broker_url, amqp.store_url) == (amqp_url(), redis_url())
    assert len({memory.namespace, redis.namespace, amqp.namespace}) == 3
    assert settings_for("memory", namespace="mine", max_retries=0).namespace == "mine"


def test_the_test_servers_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUS_TEST_REDIS_URL", "redis://127.0.0.1:6390/2")
    monkeypatch.setenv("BUS_TEST_AMQP_URL", "amqp://u:p@127.0.0.1:5690//")
    assert (broker_url("redis"), store_url("redis")) == ("redis://127.0.0.1:6390/2", None)
    assert (broker_url("amqp"), store_url("amqp")) == (
        "amqp://u:p@127.0.0.1:5690//",
        "redis://127.0.0.1:6390/2",
    )


def test_an_unknown_transport_is_a_configuration_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        settings_for("kafka")
    assert info.value.context["transport"] == "kafka"
    assert "memory, redis, amqp" in str(info.value)


def test_a_subprocess_environment_rebuilds_the_same_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_for(
        "amqp",
        default_channels=("#a", "#b"),
        broadcast_channels=frozenset({"#b"}),
        agent_modules=(),
        worker_events=False,
        retry_backoff=0.1,
        retention_max_age_seconds=60.0,
    )
    env = environment_for(settings, base={"BUS_AGENTS": "leaked", "HOME": "/home/x"})
    assert "BUS_AGENTS" not in env  # the caller's own settings do not leak in
    assert env["HOME"] == "/home/x"
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
    for key in [key for key in os.environ if key.startswith("BUS_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("BUS_"):
            monkeypatch.setenv(key, value)
    assert BusSettings() == settings


def test_a_subprocess_environment_adds_paths_and_extra_variables() -> None:
    env = environment_for(
        settings_for("memory"),
        pythonpath=["/src"],
        base={"PYTHONPATH": "/lib"},
        extra={"BUS_AGENT_MODULES": "tests.helpers.echo_agents"},
    )
    assert env["PYTHONPATH"] == os.pathsep.join(["/src", "/lib"])
    assert env["BUS_AGENT_MODULES"] == "tests.helpers.echo_agents"


def test_the_worker_command_line() -> None:
    assert worker_command(hostname="w1@localhost") == [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "bus",
        "worker",
        "--loglevel=INFO",
        "--pool=solo",
        "--concurrency=1",
        "--hostname=w1@localhost",
        "--without-mingle",
        "--without-gossip",
    ]
    raw = worker_command(
        "bench.baselines.raw_celery_app",
        pool=None,
        concurrency=None,
        loglevel="WARNING",
        queues=["q1", "q2"],
        without=(),
        extra=["--prefetch-multiplier=1"],
    )
    assert raw[3:] == [
        "-A",
        "bench.baselines.raw_celery_app",
        "worker",
        "--loglevel=WARNING",
        "-Q",
        "q1,q2",
        "--prefetch-multiplier=1",
    ]


def test_a_table_reports_every_failing_case_not_only_the_first() -> None:
    rebased: list[int] = []
    cases = Cases(after_failure=lambda: rebased.append(1))
    for value in (1, 2, 3, 4):
        with cases.case(f"value {value}"):
            assert value % 2, f"{value} is even"
    with cases.case("raises"):
        raise KeyError("boom")
    with pytest.raises(pytest.fail.Exception) as info:
        cases.verify()
    assert str(info.value).splitlines() == [
        "3 of 5 cases failed:",
        "  value 2: AssertionError: 2 is even",
        "  value 4: AssertionError: 4 is even",
        "  raises: KeyError: 'boom'",
    ]
    assert len(rebased) == 3
    # An empty table is a mistake of the test, not a pass.
    with pytest.raises(AssertionError, match="no case ran"):
        Cases().verify()

"""TLS to Redis end to end: a private TLS-only ``redis-server`` as broker and store, auth
required, a publish, a pull receive and a delivery to a worker's handler."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

from bus.broker.celery_app import create_app
from bus.settings import BusSettings
from bus.worker import EmbeddedWorker, install, load_agents
from tests.auth.deploy import Deployment
from tests.auth.tls_redis import REDIS_SERVER, TLSRedis, make_certificates
from tests.brokers import new_namespace
from tests.helpers import recorder_agents
from tests.worker.harness import FAST, wait_for

pytestmark = pytest.mark.slow


def _supports_tls() -> bool:
    if REDIS_SERVER is None:
        return False
    version = subprocess.run([REDIS_SERVER, "--version"], capture_output=True, text=True)
    major = int(version.stdout.split("v=")[1].split(".")[0]) if "v=" in version.stdout else 0
    return major >= 6  # TLS came with Redis 6 (Debian builds it in)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TLSRedis]:
    if not _supports_tls():
        pytest.skip("no redis-server with TLS support (6 or later) on PATH")
    (tmp_path / "server").mkdir()
    instance = TLSRedis(tmp_path / "server")
    try:
        yield instance
    finally:
        instance.stop()


def test_the_server_speaks_only_tls_and_only_to_clients_that_trust_its_ca(
    server: TLSRedis, tmp_path: Path
) -> None:
    assert redis.Redis.from_url(server.url).ping()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(f"redis://127.0.0.1:{server.port}/0", socket_timeout=2).ping()
    (tmp_path / "other").mkdir()
    other_ca, _, _ = make_certificates(tmp_path / "other")
    untrusting = (
        server.url.split("&ssl_ca_certs=")[0] + "&ssl_ca_certs=" + quote(str(other_ca), safe="")
    )
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(untrusting, socket_timeout=2).ping()


def test_a_bus_on_rediss_publishes_receives_and_delivers_to_a_worker_with_auth_required(
    server: TLSRedis, tmp_path: Path
) -> None:
    recorder_agents.RUNS.clear()
    base = BusSettings(
        broker_url=server.url,
        store_url=server.url,
        namespace=new_namespace(),
        **FAST,  # type: ignore[arg-type]
    )
    deployment = Deployment(base, tmp_path)
    deployment.issue("ops", "operator")
    for name in ("rec-a", "rec-b"):
        deployment.issue(name, into="hosted")
    worker_settings = deployment.settings_as("ops", credentials_dir=str(tmp_path / "hosted"))
    app = create_app(worker_settings)
    install(app, worker_settings, load_agents(["tests.helpers.recorder_agents"]))
    try:
        with EmbeddedWorker(app, pool="threads", concurrency=2):
            ops = deployment.bus_as("ops")
            wait_for(
                lambda: (
                    "#engineering" in ops.subscriptions("rec-a")
                    if "rec-a" in ops.agents()
                    else False
                ),
                30,
                "the worker to register its agents",
            )
            ops.register_agent("puller", channels=["#engineering"])
            sent = ops.publish("#engineering", "over TLS", sender="ops")
            got = ops.receive("puller", timeout=10)
            assert got is not None
            assert (got.id, got.content) == (sent.id, "over TLS")
            assert got.signature is not None
            done = f"done rec-a #engineering {sent.seq} 1"
            wait_for(
                lambda: any(line.startswith(done) for line in recorder_agents.RUNS),
                30,
                "rec-a's handler to run",
            )
            reply = ops.request("rec-b", "ping", sender="ops", timeout=20)
            assert reply.content == "rec-b got ping"
    finally:
        deployment.close()

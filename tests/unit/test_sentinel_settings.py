"""Sentinel URLs and replication settings (issue 20): how they are read, and refused."""

from __future__ import annotations

import pytest

from bus import Bus
from bus.broker.celery_app import create_app
from bus.broker.redis_transport import SENTINEL_TRANSPORT
from bus.errors import ConfigurationError
from bus.settings import BusSettings
from bus.settings.replication import replication_of, sentinel_address
from bus.settings.transports import resolve_store_url, transport_of

URL = "sentinel://:s3cret@10.0.0.1:26379/2;sentinel://10.0.0.2;sentinel://10.0.0.3:26381"


def test_a_sentinel_url_names_each_sentinel_and_the_first_ones_password_and_db() -> None:
    address = sentinel_address(URL, "mymaster", "BUS_STORE_URL")
    assert address.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("10.0.0.3", 26381))
    assert (address.master, address.db, address.password) == ("mymaster", 2, "s3cret")


def test_a_sentinel_url_without_a_master_name_says_to_set_bus_sentinel_master() -> None:
    with pytest.raises(ConfigurationError) as info:
        sentinel_address(URL, None, "BUS_STORE_URL")
    assert "set BUS_SENTINEL_MASTER" in str(info.value)
    assert "s3cret" not in str(info.value)
    assert info.value.context["setting"] == "BUS_SENTINEL_MASTER"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sentinel://10.0.0.1;redis://10.0.0.2", "is not a sentinel URL"),
        ("sentinel://10.0.0.1:notaport", "no valid port"),
        ("sentinel://10.0.0.1/zero", "the database must be a number"),
    ],
)
def test_a_malformed_sentinel_url_is_refused_naming_the_part(url: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        sentinel_address(url, "mymaster", "BUS_BROKER_URL")


def test_a_sentinel_broker_is_a_redis_transport_whose_store_defaults_to_it() -> None:
    traits = transport_of(URL)
    assert traits.sentinel
    assert traits.fanout == "redis"
    assert resolve_store_url(URL, None) == URL


def test_the_broker_gets_the_master_name_as_kombu_takes_it() -> None:
    app = create_app(BusSettings(broker_url=URL, sentinel_master="mymaster", namespace="t"))
    assert app.conf.broker_transport_options["master_name"] == "mymaster"
    assert app.conf.broker_transport == SENTINEL_TRANSPORT


def test_a_sentinel_broker_or_store_without_a_master_name_is_refused_up_front() -> None:
    with pytest.raises(ConfigurationError, match="BUS_SENTINEL_MASTER"):
        Bus(BusSettings(broker_url=URL, namespace="t"))
    with pytest.raises(ConfigurationError, match="BUS_SENTINEL_MASTER"):
        Bus(BusSettings(broker_url="memory://", store_url=URL, namespace="t"))


def test_replication_settings_default_to_no_wait_and_take_seconds() -> None:
    assert replication_of(BusSettings()).min_replicas == 0
    settings = BusSettings(store_min_replicas=1, store_replica_timeout=0.25)
    replication = replication_of(settings)
    assert (replication.min_replicas, replication.replica_timeout_ms) == (1, 250)

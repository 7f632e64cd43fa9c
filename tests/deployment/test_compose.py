"""docker-compose.yml, Dockerfile and Procfile: valid, consistent with each other and with the
project (every command they run exists), and switched between Redis and RabbitMQ by one
variable. No Docker engine is needed; ``docker-compose config`` runs where it is installed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from functools import cache
from typing import Any

import pytest
import yaml

from bus.cli import build_parser
from bus.settings import BusSettings
from bus.settings.transports import resolve_store_url
from bus.settings.urls import scheme_of
from bus.testing import celery_command
from tests.helpers.cli_support import ROOT

COMPOSE = ROOT / "docker-compose.yml"
#: The schema, in the nearest ``shared/data`` above the checkout (a worktree sits one level deeper).
SCHEMA = next(
    (
        candidate
        for parent in ROOT.parents
        if (candidate := parent / "shared" / "data" / "compose-spec.json").is_file()
    ),
    ROOT.parent / "shared" / "data" / "compose-spec.json",
)
AMQP_IN_COMPOSE = "amqp://guest:guest@rabbitmq:5672//"
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::-(?P<default>[^}]*))?\}")


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${NAME:-default}`` and ``$$``, for what these files use."""
    expanded = _VARIABLE.sub(lambda m: variables.get(m["name"]) or (m["default"] or ""), value)
    return expanded.replace("$$", "$")


def command_of(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def check_command(words: list[str]) -> None:
    """Fail unless ``words`` is a command this project provides: ``bus ...`` parsed by the
    CLI's own parser, or ``celery -A bus ...`` whose subcommand exists (``--help`` runs)."""
    if words[0] == "bus":
        build_parser().parse_args(words[1:])  # exits (fails the test) on an unknown command
        return
    assert words[:3] == ["celery", "-A", "bus"], words
    subcommand = [word for word in words[3:5] if not word.startswith("-")]
    if subcommand[:1] == ["inspect"]:
        subcommand = words[3:5]
    result = subprocess.run(
        celery_command("bus", *subcommand, "--help"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("BUS_")},
    )
    assert result.returncode == 0, (words, result.stderr[-2000:])


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"the Compose Specification schema is not at {SCHEMA}")
    import jsonschema

    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))  # its $schema
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(compose())
    ]
    assert errors == []
    # and the schema is strict enough to catch a misspelt key
    broken = {
        **compose(),
        "services": {**services(), "worker": {**services()["worker"], "comand": "x"}},
    }
    assert not validator.is_valid(broken)


def test_the_services_are_redis_rabbitmq_auth_setup_worker_llm_flower_web_and_demo() -> None:
    assert set(services()) == {
        "redis",
        "rabbitmq",
        "auth-setup",
        "worker",
        "llm",
        "flower",
        "web",
        "demo",
    }
    assert services()["rabbitmq"]["image"] == "rabbitmq:3-management"
    assert "127.0.0.1:15672:15672" in services()["rabbitmq"]["ports"]
    assert any(str(port).endswith(":5555") for port in services()["flower"]["ports"])


def test_the_worker_scales_no_container_name_and_no_fixed_host_port() -> None:
    worker = services()["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["build"] == "."


def test_servers_have_healthchecks_that_the_others_wait_for() -> None:
    assert services()["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    assert "rabbitmq-diagnostics" in services()["rabbitmq"]["healthcheck"]["test"]
    waits = {
        f"{name} on {server}": services()[name]["depends_on"].get(server)
        for name in ("worker", "flower", "web", "demo")
        for server in ("redis", "rabbitmq")
    }
    healthy = {"condition": "service_healthy"}
    assert {case: wait for case, wait in waits.items() if wait != healthy} == {}
    assert services()["demo"]["depends_on"]["worker"] == {"condition": "service_healthy"}
    assert services()["auth-setup"]["depends_on"]["redis"] == {"condition": "service_healthy"}


def test_every_bus_process_runs_with_auth_required_after_the_setup_step() -> None:
    setup = services()["auth-setup"]
    assert command_of(setup)[:3] == ["bus", "auth", "setup"]
    assert setup["restart"] == "no"
    for name in ("worker", "flower", "web", "demo"):
        service = services()[name]
        environment = service["environment"]
        assert environment["BUS_AUTH"] == "required", name
        assert environment["BUS_ROOT_PUBLIC_KEY"].startswith("/credentials/")
        assert environment["BUS_CREDENTIALS"].startswith("/credentials/")
        assert service["depends_on"]["auth-setup"] == {
            "condition": "service_completed_successfully"
        }
        assert service["volumes"] == ["bus-credentials:/credentials:ro"], name
    # The worker acts as an agent identity of its own, the CLI and the demo as the operator.
    assert services()["worker"]["environment"]["BUS_CREDENTIALS"] == "/credentials/worker.json"
    # The root private key is on a volume only the setup step mounts.
    mounts = {name: service.get("volumes", []) for name, service in services().items()}
    assert [name for name, volumes in mounts.items() if any("bus-root" in v for v in volumes)] == [
        "auth-setup"
    ]


def test_flower_is_behind_basic_auth_from_the_environment_and_never_unauthenticated() -> None:
    flower = services()["flower"]
    assert "FLOWER_UNAUTHENTICATED_API" not in flower["environment"]
    assert "FLOWER_UNAUTHENTICATED_API" not in COMPOSE.read_text()
    assert any(word.startswith("--basic-auth=${FLOWER_BASIC_AUTH:?") for word in command_of(flower))
    entry = procfile()["flower"]
    assert "--basic-auth=${FLOWER_BASIC_AUTH:?" in entry
    assert "FLOWER_UNAUTHENTICATED_API" not in (ROOT / "Procfile").read_text()


def test_the_console_is_behind_the_same_secret_as_flower_and_on_the_hosts_loopback() -> None:
    web = services()["web"]
    assert command_of(web)[:2] == ["bus", "web"]
    assert web["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert web["ports"] == ["127.0.0.1:8088:8088"]
    assert procfile()["web"].startswith("bus web --port ${WEB_PORT:-8088}")


def test_data_that_must_survive_a_restart_is_on_named_volumes() -> None:
    assert set(compose()["volumes"]) == {
        "redis-data",
        "rabbitmq-data",
        "bus-credentials",
        "bus-root",
    }
    assert "redis-data:/data" in services()["redis"]["volumes"]
    assert "--appendonly" in command_of(services()["redis"])
    assert "rabbitmq-data:/var/lib/rabbitmq" in services()["rabbitmq"]["volumes"]
    assert services()["rabbitmq"]["hostname"] == "rabbitmq"  # mnesia is kept per node name


@pytest.mark.slow
@pytest.mark.parametrize("name", ["auth-setup", "worker", "flower", "web", "demo"])
def test_every_service_command_exists_in_the_project(name: str) -> None:
    check_command([interpolate(word, {}) for word in command_of(services()[name])])


@pytest.mark.slow
def test_the_worker_healthcheck_command_exists() -> None:
    test = services()["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    check_command(shlex.split(interpolate(test[1], {})))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(procfile()))
def test_every_procfile_command_exists_in_the_project(name: str) -> None:
    check_command(shlex.split(interpolate(procfile()[name], {})))


@pytest.mark.parametrize("name", ["worker", "flower", "demo"])
@pytest.mark.parametrize(
    ("variables", "broker"),
    [({}, "redis://redis:6379/0"), ({"BUS_BROKER_URL": AMQP_IN_COMPOSE}, AMQP_IN_COMPOSE)],
    ids=["redis", "amqp"],
)
def test_one_variable_switches_the_transport_and_the_settings_accept_both(
    variables: dict[str, str], broker: str, name: str
) -> None:
    environment = {
        key: interpolate(str(value), variables)
        for key, value in services()[name]["environment"].items()
    }
    assert environment["BUS_BROKER_URL"] == broker
    fields = {
        key.removeprefix("BUS_").lower(): value
        for key, value in environment.items()
        if key.startswith("BUS_")
    }
    assert set(fields) - set(BusSettings.model_fields) == set(), "unknown BUS_ variables"
    settings = BusSettings(**fields)  # type: ignore[arg-type]  # strings, as from the environment
    assert resolve_store_url(settings.broker_url, settings.store_url) == "redis://redis:6379/0"
    assert scheme_of(settings.broker_url) == scheme_of(broker)


def test_compose_and_procfile_agree_on_the_worker_and_the_flower_port() -> None:
    entries = procfile()
    worker = command_of(services()["worker"])
    assert shlex.split(entries["worker"])[: len(worker)] == worker
    flower_port = re.search(r"--port=(\d+)", " ".join(command_of(services()["flower"])))
    assert flower_port is not None
    assert f"--port=${{FLOWER_PORT:-{flower_port[1]}}}" in entries["flower"]
    assert "demo" not in entries or "bus demo" not in entries["demo"], (
        "a one-shot process would make honcho stop the whole fleet when it exits"
    )


def test_the_dockerfile_builds_a_slim_image_that_runs_as_a_normal_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    assert re.search(r"^RUN pip install \. ", dockerfile, re.MULTILINE)
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users, "the image must not run as root"
    assert users[-1] not in ("root", "0")
    for path in ("bus", "config", "workers", "pyproject.toml"):
        assert re.search(rf"^COPY .*\b{re.escape(path)}\b", dockerfile, re.MULTILINE), path


def compose_section(markdown: str) -> str | None:
    """The README section whose heading mentions compose, subsections included."""
    heading = re.search(r"^(?P<level>#+) .*compose.*$", markdown, re.I | re.M)
    if heading is None:
        return None
    level = len(heading["level"])
    following = re.compile(rf"^#{{1,{level}}} ", re.M).search(markdown, heading.end())
    return markdown[heading.end() : following.start() if following else len(markdown)]


def test_the_readme_names_the_same_ports_and_variables() -> None:
    readme = ROOT / "README.md"
    section = compose_section(readme.read_text() if readme.is_file() else "")
    if section is None:
        pytest.skip("README.md has no compose section yet")
    flower = re.search(r"--port=(\d+)", " ".join(command_of(services()["flower"])))
    assert flower is not None
    needed = (flower[1], "15672", "BUS_BROKER_URL", "--scale worker=", "honcho")
    assert [word for word in needed if word not in section] == [], "missing in README's section"
    variables = set(re.findall(r"\b(BUS_[A-Z_]+|FLOWER_[A-Z_]+)\b", section))
    defined = set(compose()["x-bus-environment"]) | {"FLOWER_BASIC_AUTH", "FLOWER_PORT"}
    assert variables <= defined | {f"BUS_{name.upper()}" for name in BusSettings.model_fields}


@pytest.mark.slow
@pytest.mark.parametrize("variables", [{}, {"BUS_BROKER_URL": AMQP_IN_COMPOSE}])
def test_docker_compose_config_accepts_the_file(variables: dict[str, str]) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUS_", "COMPOSE_"))}
    env.update(variables, FLOWER_BASIC_AUTH="admin:secret")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    broker = variables.get("BUS_BROKER_URL", "redis://redis:6379/0")
    names = ("worker", "flower", "demo")
    brokers = {name: resolved["services"][name]["environment"]["BUS_BROKER_URL"] for name in names}
    assert brokers == dict.fromkeys(names, broker)

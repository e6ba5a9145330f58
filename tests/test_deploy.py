"""The compose files start Loa with commands and settings that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from api.cli import app
from broadcast.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILES = ["docker-compose.yml", "docker-compose.scale.yml"]


def _services(name: str) -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))["services"]
    return services


def _loa_invocations(command: str) -> list[list[str]]:
    """Every `loa ...` of a service's command, with ${VAR:-default} given its default."""
    command = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", command)
    words = shlex.split(command)
    script = words[2] if words[:2] == ["sh", "-c"] else command
    found: list[list[str]] = []
    for part in script.split("&&"):
        args = shlex.split(part)
        if args and args[0] == "loa":
            found.append(args[1:])
    return found


def _parse(args: list[str]) -> Any:
    """Parse `loa ARGS` as the CLI would, without running it (a usage error when wrong)."""
    command: Any = typer.main.get_command(app)
    while hasattr(command, "get_command"):  # a group: `loa db upgrade`, `loa mqtt sync`
        name, *args = args
        sub = command.get_command(command.make_context("loa", [name]), name)
        assert sub is not None, f"`loa` has no command {name!r}"
        command = sub
    return command.make_context(command.name or "loa", args)


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_loa_command_of_a_compose_file_parses(name: str) -> None:
    invocations = [
        args
        for service in _services(name).values()
        if isinstance(service.get("command"), str)
        for args in _loa_invocations(service["command"])
    ]
    assert invocations, f"{name} runs no loa command"
    for args in invocations:
        _parse(args)


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_loa_setting_of_a_compose_file_exists(name: str) -> None:
    known = {f"LOA_{field.upper()}" for field in Settings.model_fields}
    given = {
        key
        for service in _services(name).values()
        for key in (service.get("environment") or {})
        if key.startswith("LOA_")
    }
    assert given and given <= known, sorted(given - known)


def test_the_scaled_shape_serves_the_web_apart_from_its_workers() -> None:
    services = _services("docker-compose.scale.yml")
    web = _loa_invocations(services["web"]["command"])
    assert [args[0] for args in web] == ["serve"]
    assert int(_parse(web[0]).params["workers"]) > 1
    workers = [
        _parse(args)
        for service in services.values()
        for args in _loa_invocations(service.get("command") or "")
        if args[0] == "worker"
    ]
    instances = sorted(int(context.params["instance"]) for context in workers)
    environment = services["worker"]["environment"]
    # Each worker has its own broker logins, written by `loa mqtt sync` in `setup`.
    assert instances == list(range(1, int(environment["LOA_WORKER_INSTANCES"]) + 1))
    assert len(instances) > 1 and environment["LOA_MQTT_SHARED_GROUP"]
    assert all(services[name]["environment"] == environment for name in ("setup", "web"))


def test_a_wrong_option_is_caught() -> None:
    with pytest.raises(Exception, match="No such option") as caught:
        _parse(["serve", "--wokers", "4"])
    assert type(caught.value).__name__ == "NoSuchOption"


def test_the_clustered_broker_asks_the_web_face_with_its_token() -> None:
    services = _services("docker-compose.scale.yml")
    conf = (ROOT / "deploy" / "emqx" / "emqx.conf").read_text(encoding="utf-8")
    urls = re.findall(r'url = "http://([a-z0-9-]+):(\d+)(/[^"]+)"', conf)
    assert [path for _host, _port, path in urls] == [
        "/broker/v1/authenticate",
        "/broker/v1/authorize",
    ]
    from api.routes import broker_hooks

    served = {getattr(r, "path", "") for r in broker_hooks.router.routes}
    for host, port, path in urls:
        assert path in served
        assert host in services and f"--port {port}" in services[host]["command"]
    # Both nodes and the web face share the token; the nodes read the same file.
    assert conf.count('"Bearer "${LOA_BROKER_HOOK_TOKEN}') == 2
    nodes = [services[name] for name in ("emqx1", "emqx2")]
    for node in nodes:
        assert "LOA_BROKER_HOOK_TOKEN" in node["environment"]
        assert "./deploy/emqx/emqx.conf:/opt/emqx/etc/emqx.conf:ro" in node["volumes"]
    assert "LOA_BROKER_HOOK_TOKEN" in services["web"]["environment"]
    seeds = re.search(r"static\.seeds = \[(.*)\]", conf)
    assert seeds is not None
    names = {node["environment"]["EMQX_NODE__NAME"] for node in nodes}
    assert names == {s.strip().strip('"') for s in seeds[1].split(",")}
    # Each worker ingests through its own node.
    assert {services[w]["environment"]["LOA_MQTT_URL"] for w in ("worker", "worker-2")} == {
        "mqtt://emqx1.loa:1883",
        "mqtt://emqx2.loa:1883",
    }

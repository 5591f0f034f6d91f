"""deploy/: the image, the compose file and the systemd unit keep their promises."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.config.settings import Settings
from bot.metrics import Metrics

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
UNIT = DEPLOY / "mediabot.service"


# --- Dockerfile ---------------------------------------------------------------------------


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def stages(path: Path) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for word, rest in instructions(path):
        if word == "FROM":
            found.append([])
        if found:
            found[-1].append((word, rest))
    return found


def test_dockerfile_is_multi_stage_on_slim_python_311_or_newer() -> None:
    all_stages = stages(DOCKERFILE)
    assert len(all_stages) >= 2
    args = dict(
        rest.split("=", 1)
        for word, rest in instructions(DOCKERFILE)
        if word == "ARG" and "=" in rest
    )
    major, minor = (int(p) for p in args["PYTHON_VERSION"].split(".")[:2])
    assert (major, minor) >= (3, 11)
    for stage in all_stages:
        base = stage[0][1].split()[0]
        assert base.startswith("python:") and base.endswith("-slim"), base
    names = [s[0][1].split()[-1] for s in all_stages[:-1]]
    final = all_stages[-1]
    assert any(w == "COPY" and f"--from={names[0]}" in r for w, r in final)


def test_runtime_stage_runs_as_non_root_with_volumes_and_a_health_check() -> None:
    final = stages(DOCKERFILE)[-1]
    users = [r for w, r in final if w == "USER"]
    assert users, "the runtime stage sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0")
    volumes = " ".join(r for w, r in final if w == "VOLUME")
    assert "/var/lib/mediabot" in volumes
    assert "/etc/mediabot/rules" in volumes
    env = " ".join(r for w, r in final if w == "ENV")
    assert "MEDIABOT_METRICS_ADDR=" in env  # the health endpoint exists in the image
    assert "MEDIABOT_RULES_DIR=/etc/mediabot/rules" in env
    assert "MEDIABOT_DATABASE_URL=sqlite:////var/lib/mediabot/" in env
    checks = [r for w, r in final if w == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/healthz" in checks[0]
    assert "curl" not in checks[0] and "wget" not in checks[0]


def test_image_gets_runtime_dependencies_only() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "[dev]" not in text
    assert "tests" not in " ".join(r for w, r in instructions(DOCKERFILE) if w == "COPY")
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    for word, rest in instructions(DOCKERFILE):
        if word == "COPY" and "--from=" not in rest:
            sources = [a for a in rest.split() if not a.startswith("--")][:-1]
            for source in sources:
                assert (ROOT / source).exists(), source
                assert f"!{source}" in ignore or f"!{source}/" in ignore, source


def health_check_code() -> str:
    final = stages(DOCKERFILE)[-1]
    check = next(r for w, r in final if w == "HEALTHCHECK")
    exec_form = check[check.index("CMD") + 3 :].strip()
    argv = json.loads(exec_form)
    assert argv[:2] == ["python", "-c"]
    code = argv[2]
    assert isinstance(code, str)
    return code


async def run_check(code: str, port: int) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        env={"MEDIABOT_METRICS_ADDR": f"0.0.0.0:{port}"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(proc.wait(), timeout=60)


async def test_the_health_check_command_follows_healthz() -> None:
    now = [0.0]
    metrics = Metrics(clock=lambda: now[0], process_metrics=False)
    metrics.watch_loop("sender", within=60)
    code = health_check_code()
    async with metrics.server("127.0.0.1:0") as server:
        port = server.port
        assert await run_check(code, port) == 0
        now[0] = 61.0  # the sender stopped beating
        assert await run_check(code, port) != 0
    assert await run_check(code, port) != 0  # nothing listening


# --- compose ------------------------------------------------------------------------------


def compose() -> dict[str, object]:
    data = YAML(typ="safe").load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_runs_the_bot_with_a_data_volume_and_the_rules_mounted() -> None:
    data = compose()
    services = data["services"]
    assert isinstance(services, dict)
    bot = services["mediabot"]
    assert bot["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / bot["build"]["context"] / bot["build"]["dockerfile"]).is_file()
    volumes = bot["volumes"]
    assert "mediabot-data:/var/lib/mediabot" in volumes
    assert "../rules:/etc/mediabot/rules" in volumes
    assert (DEPLOY / "../rules").is_dir()
    top = data["volumes"]
    assert isinstance(top, dict)
    assert "mediabot-data" in top
    assert "profiles" not in bot  # the bot always runs
    env = bot["environment"]
    assert env["MEDIABOT_RULES_DIR"] == "/etc/mediabot/rules"
    assert env["MEDIABOT_METRICS_ADDR"].endswith(":9464")


def test_compose_has_an_optional_postgres_profile() -> None:
    data = compose()
    services = data["services"]
    assert isinstance(services, dict)
    pg = services["postgres"]
    assert pg["profiles"] == ["postgres", "scale"]
    assert pg["image"].startswith("postgres:")
    assert "healthcheck" in pg
    assert "ports" not in pg  # reachable from the bot only
    dependency = services["mediabot"]["depends_on"]["postgres"]
    assert dependency == {"condition": "service_healthy", "required": False}
    top = data["volumes"]
    assert isinstance(top, dict)
    assert any(v.split(":")[0] in top for v in pg["volumes"])


def test_compose_scale_profile_runs_each_role_as_its_own_service_on_postgres() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    for role in ("poller", "sender", "updates"):
        service = services[role]
        assert service["profiles"] == ["scale"]
        env = service["environment"]
        assert env["MEDIABOT_ROLES"] == role
        assert env["MEDIABOT_DATABASE_URL"].startswith("${DATABASE_URL:?"), "PostgreSQL only"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        assert any(v.endswith("/etc/mediabot/rules:ro") for v in service["volumes"])


# --- systemd ------------------------------------------------------------------------------


def unit_directives(path: Path) -> dict[str, list[str]]:
    """``Section.Key`` -> every value given (a key may repeat)."""
    found: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return found


def test_unit_is_sandboxed_and_restarts_on_failure() -> None:
    d = unit_directives(UNIT)
    service = {k.split(".", 1)[1]: v[-1] for k, v in d.items() if k.startswith("Service.")}
    assert service.get("DynamicUser") == "yes" or service.get("User") not in (None, "root")
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes"
    assert service["StateDirectory"] == "mediabot"
    assert service["EnvironmentFile"].lstrip("-").startswith("/etc/")
    assert service["Restart"] == "on-failure"
    assert "TimeoutStopSec" in service
    assert service["ExecStart"].endswith("mediabot run")
    # Everything the bot writes is inside its state directory, the one writable place.
    env = dict(v.split("=", 1) for v in d["Service.Environment"])
    assert env["MEDIABOT_DATABASE_URL"].startswith("sqlite:////var/lib/mediabot/")
    assert env["MEDIABOT_RULES_DIR"].startswith("/var/lib/mediabot/")
    assert d["Install.WantedBy"] == ["multi-user.target"]


@pytest.fixture
def runnable_unit(tmp_path: Path) -> Path:
    """A copy of the unit whose ExecStart points at this checkout's installed command."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    command = Path(sys.executable).parent / "mediabot"
    exec_start = f"{command} run" if command.is_file() else f"{sys.executable} -m bot run"
    text = re.sub(r"(?m)^ExecStart=.*$", f"ExecStart={exec_start}", UNIT.read_text("utf-8"))
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    return copy


def test_unit_passes_systemd_analyze_verify(runnable_unit: Path) -> None:
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(runnable_unit)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # verify exits 0 on unknown keys and bad values too, and reports them on stderr.
    problems = [
        line for line in (proc.stdout + proc.stderr).splitlines() if runnable_unit.name in line
    ]
    assert proc.returncode == 0, proc.stderr
    assert problems == []


def test_unit_exposure_is_low(runnable_unit: Path) -> None:
    proc = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(runnable_unit)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if "--offline" in proc.stderr or "unrecognized option" in proc.stderr:
        pytest.skip("this systemd-analyze cannot assess a unit file offline")
    assert proc.returncode == 0, proc.stdout[-2000:]  # exposure above 2.0 of 10


# --- settings named in deploy files -------------------------------------------------------


def test_every_setting_named_in_deploy_files_exists() -> None:
    known = {f"MEDIABOT_{name.upper()}" for name in Settings.model_fields}
    mentioned: dict[str, set[str]] = {}
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        for name in re.findall(r"MEDIABOT_[A-Z0-9_]*[A-Z0-9]", path.read_text("utf-8")):
            mentioned.setdefault(name, set()).add(path.name)
    assert mentioned, "no settings found: the pattern is wrong"
    unknown = {name: sorted(files) for name, files in mentioned.items() if name not in known}
    assert unknown == {}

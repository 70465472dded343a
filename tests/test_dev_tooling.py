"""Developer tooling (issue 20, item 7): pinned tools kept out of the image,
the pre-commit gates, the type-checked set, and services stopped after use."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import tomllib

from tests.support.deploy import ROOT

DEV_TOOLS = {"pytest", "pytest-django", "responses", "ruff", "playwright", "pyyaml", "mypy"}


def requirement_lines(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_development_tools_are_pinned_exactly_and_absent_from_the_production_requirements():
    dev = [line for line in requirement_lines("requirements-dev.txt") if not line.startswith("-r")]
    assert dev and all(re.fullmatch(r"[A-Za-z0-9_.\[\]-]+==[\w.]+", line) for line in dev), dev
    pinned = {line.split("==")[0].lower() for line in dev}
    assert DEV_TOOLS <= pinned
    production = {
        re.split(r"[<>=\[ ]", line)[0].lower() for line in requirement_lines("requirements.txt")
    }
    assert not production & DEV_TOOLS


def test_the_production_image_installs_the_production_requirements_only():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-r requirements.txt" in dockerfile
    assert "requirements-dev" not in dockerfile


def test_pre_commit_runs_ruff_format_and_the_migrations_check_with_the_pinned_ruff():
    yaml = __import__("yaml")
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "migrations"} <= set(hooks)
    assert "makemigrations --check" in hooks["migrations"]["entry"]
    pinned = next(
        line for line in requirement_lines("requirements-dev.txt") if line.startswith("ruff==")
    )
    assert hooks["ruff"]["additional_dependencies"] == [pinned]


def test_every_file_of_the_type_checked_money_core_exists():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert "mypy_django_plugin.main" in config["plugins"]
    for path in config["files"]:
        assert (ROOT / path).exists(), path
    assert {"backoffice/refunds.py", "shop/workflow.py", "shop/locks.py"} <= set(config["files"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_a_redis_the_tests_started_is_shut_down_when_the_run_ends():
    """The fault suite starts its own redis-server (port 6390); `make test`
    wraps it in .ci/services.py, which shuts it down afterwards. Here the
    same on a free port, with a command that leaves a daemonized server."""
    port = _free_port()
    script = (
        f"redis-server --port {port} --bind 127.0.0.1 --save '' --daemonize yes >/dev/null; "
        f"for i in $(seq 50); do redis-cli -p {port} ping >/dev/null 2>&1 && break; sleep 0.1; done"
    )
    result = subprocess.run(
        [
            sys.executable,
            ".ci/services.py",
            "run",
            "--own-redis",
            str(port),
            "--",
            "bash",
            "-c",
            script,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "shut down" in result.stderr
    assert not _answers(port)

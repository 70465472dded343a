"""Production shape: deploy checks, the compose file, CI entry point."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.deploy import ROOT, production_env


def test_deploy_checks_pass_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_checks_fail_with_the_development_secret_key():
    env = production_env()
    env.pop("SECRET_KEY")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stdout + result.stderr


def test_compose_runs_web_worker_one_beat_database_and_redis():
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "db", "redis"} <= set(services)
    assert services["beat"]["deploy"]["replicas"] == 1
    for name in ("web", "db", "redis", "worker"):
        assert "healthcheck" in services[name], name
    assert "gunicorn" in (ROOT / "Dockerfile").read_text()
    assert "pgdata" in compose["volumes"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert (
        "make test" in (ROOT / "README.md").read_text()
        and "make run" in (ROOT / "README.md").read_text()
    )


def test_env_example_lists_every_setting_read_from_the_environment():
    import re

    source = (ROOT / "ashtech_store" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', source))
    read |= set(re.findall(r'_secret\("([A-Z_]+)"', source))
    read |= {f"{name}_BASE_URL" for name in re.findall(r'_provider_url\("([A-Z]+)"', source)}
    internal = {
        "STATICFILES_STORAGE",
        "CELERY_TASK_ALWAYS_EAGER",
        "SILENCED_SYSTEM_CHECKS",
        "DATA_UPLOAD_MAX_MEMORY_SIZE",
        "DJANGO_SETTINGS_MODULE",
        "SHOP_DEFAULT_COUNTRY",  # SHOP_COUNTRY's former name, still read
    }
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert not sorted(read - listed - internal)


def test_compose_file_is_accepted_by_docker_compose(tmp_path):
    """``docker compose config`` (or Debian's docker-compose) validates the file."""
    import shutil

    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("no docker-compose client here")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run(
        [binary, "-f", str(tmp_path / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr

"""Several machines (issue 20, item 3): the compose stack scales web and the
workers (no container names, no single host port), web goes through PgBouncer
in transaction pooling with the settings that needs, beat stays single."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.support.deploy import ROOT

SCALED = ("web", "worker", "worker-notify")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_no_service_is_pinned_to_one_container(compose):
    for name, service in compose["services"].items():
        assert "container_name" not in service, name
    for name in SCALED:
        for port in compose["services"][name].get("ports", []):
            published = str(port).rsplit(":", 1)[0]
            assert published.startswith("127.0.0.1:") and "-" in published, (
                f"{name}: a single host port stops --scale {name}=N"
            )
    assert compose["services"]["beat"]["deploy"]["replicas"] == 1


def test_web_goes_through_pgbouncer_in_transaction_pooling_and_the_rest_directly(compose):
    services = compose["services"]
    bouncer = services["pgbouncer"]["environment"]
    assert bouncer["POOL_MODE"] == "transaction"
    web = services["web"]["environment"]
    assert "@pgbouncer:6432/" in web["DATABASE_URL"]
    assert web["DATABASE_TRANSACTION_POOLING"] == "true"
    assert "pgbouncer" in services["web"]["depends_on"]
    for name in ("worker", "worker-notify", "beat", "migrate"):
        env = services[name]["environment"]
        assert "@db:5432/" in env["DATABASE_URL"], name
        assert "DATABASE_TRANSACTION_POOLING" not in env, name


def _settings_in_a_process(**env) -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({k: {'cursors': v.get('DISABLE_SERVER_SIDE_CURSORS', False), "
        "'prepare': v.get('OPTIONS', {}).get('prepare_threshold', 'default'), "
        "'age': v.get('CONN_MAX_AGE'), 'mirror': v.get('TEST', {}).get('MIRROR')} "
        "for k, v in settings.DATABASES.items()}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "ashtech_store.settings",
            "DEBUG": "true",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_transaction_pooling_turns_off_server_side_cursors_and_prepared_statements():
    url = "postgres://shop:pw@pgbouncer:6432/ashtech"
    pooled = _settings_in_a_process(
        DATABASE_URL=url,
        DATABASE_REPLICA_URL="postgres://shop:pw@replica:5432/ashtech",
        DATABASE_TRANSACTION_POOLING="true",
    )
    assert set(pooled) == {"default", "replica"}
    for alias in pooled.values():
        assert alias["cursors"] is True and alias["prepare"] is None and alias["age"] == 600
    assert pooled["replica"]["mirror"] == "default"
    direct = _settings_in_a_process(DATABASE_URL=url)
    assert set(direct) == {"default"}
    assert direct["default"]["cursors"] is False and direct["default"]["prepare"] == "default"


def test_the_scaled_stack_is_accepted_by_docker_compose(tmp_path):
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("no docker-compose client here (make test installs Debian's as root)")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run(
        [binary, "-f", str(tmp_path / "docker-compose.yml"), "config", "--services"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert {"web", "worker", "worker-notify", "beat", "pgbouncer", "db", "redis"} <= set(
        result.stdout.split()
    )

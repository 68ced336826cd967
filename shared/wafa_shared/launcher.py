"""`make run`: start PostgreSQL and the broker (embedded unless configured), migrate, run every
installed service as its own process, print where everything is, and stop it all on Ctrl-C.

Data stays in `.wafa/` so a second run keeps it. Set `<PREFIX>DATABASE_URL` (e.g.
`WAFA_LOYALTY_DATABASE_URL`) or `KAFKA_BOOTSTRAP_SERVERS` to use external servers instead.
On the first start the demo business is loaded (`WAFA_DEMO=0` turns that off,
`WAFA_DEMO_CUSTOMERS` sets its size) so a newcomer sees a living system.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from wafa_shared.auth import mint_token
from wafa_shared.embedded.broker import EmbeddedBroker
from wafa_shared.embedded.postgres import EmbeddedPostgres
from wafa_shared.migrations import upgrade
from wafa_shared.services import ServiceInfo, installed_services
from wafa_shared.settings import DEV_JWT_SECRET


def _say(msg: str) -> None:
    print(f"[wafa] {msg}", flush=True)


class Platform:
    """Everything `make run` starts, in start order; stopped in reverse."""

    def __init__(self, home: Path, pg_port: int, broker_port: int) -> None:
        self.home = home
        self.pg: EmbeddedPostgres | None = None
        self.broker: EmbeddedBroker | None = None
        self.pg_port = pg_port
        self.broker_port = broker_port
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.env: dict[str, str] = dict(os.environ)

    def start_infra(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        services = installed_services()
        if not all(f"{s.env_prefix}DATABASE_URL" in os.environ for s in services):
            self.pg = EmbeddedPostgres(self.home / "postgres", self.pg_port)
            self.pg.start()
            _say(f"PostgreSQL (embedded) on 127.0.0.1:{self.pg_port}, data in {self.pg.data_dir}")
            for s in services:
                self.env.setdefault(f"{s.env_prefix}DATABASE_URL", self.pg.url(s.database))
        if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
            self.broker = EmbeddedBroker(self.broker_port, log_file=self.home / "broker.log")
            self.broker.start()
            self.env["KAFKA_BOOTSTRAP_SERVERS"] = self.broker.bootstrap
            _say(f"Kafka-protocol broker (embedded Tansu) on {self.broker.bootstrap}")
        self.env.setdefault("WAFA_JWT_SECRET", DEV_JWT_SECRET)

    def migrate(self, only: list[str] | None = None) -> None:
        for s in installed_services():
            if only is not None and s.name not in only:
                continue
            asyncio.run(upgrade(self.env[f"{s.env_prefix}DATABASE_URL"], s.migrations_dir()))
        _say("databases migrated")

    def start_services(self, host: str = "127.0.0.1", only: list[str] | None = None) -> list[tuple[ServiceInfo, int]]:
        started = []
        logs = self.home / "logs"
        logs.mkdir(exist_ok=True)
        # where each service is, for the few server-side calls between them (analytics' health view)
        urls = {s.name: f"http://127.0.0.1:{self.env.get(f'{s.env_prefix}PORT', s.port)}" for s in installed_services()}
        self.env.setdefault("WAFA_SERVICE_URLS", json.dumps(urls))
        for s in installed_services():
            if only is not None and s.name not in only:
                continue
            port = int(self.env.get(f"{s.env_prefix}PORT", s.port))
            log = open(logs / f"{s.name}.log", "ab")  # noqa: SIM115 - handed to the child process
            self.procs[s.name] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"{s.package}.app:create_app",
                    "--factory",
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--no-access-log",
                    "--loop",
                    "uvloop",
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            started.append((s, port))
        for s, port in started:
            self._wait_healthy(s, port)
        return started

    def _wait_healthy(self, s: ServiceInfo, port: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.procs[s.name].poll() is not None:
                raise RuntimeError(f"{s.name} exited; see {self.home / 'logs' / (s.name + '.log')}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{s.name} did not become healthy")

    def start_portal(self, ports: dict[str, int]) -> int:
        """The docs portal as its own process (it imports every service to read its catalog)."""
        port = int(self.env.get("WAFA_PORTAL_PORT", "8000"))
        code = (
            "import json, sys, uvicorn; from wafa_shared.portal import create_portal; "
            "uvicorn.run(create_portal(json.loads(sys.argv[1])), host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')"
        )
        log = open(self.home / "logs" / "portal.log", "ab")  # noqa: SIM115 - handed to the child process
        self.procs["portal"] = subprocess.Popen([sys.executable, "-c", code, json.dumps(ports), str(port)], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return port

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.broker is not None:
            self.broker.stop()
        if self.pg is not None:
            self.pg.stop()


def run(home: Path, pg_port: int = 55432, broker_port: int = 9092) -> None:
    platform = Platform(home, pg_port, broker_port)
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        platform.start_infra()
        platform.migrate()
        started = platform.start_services()
        token = mint_token(platform.env["WAFA_JWT_SECRET"], "dev", ["admin"], ttl_s=30 * 24 * 3600)
        portal_port = platform.start_portal({s.name: port for s, port in started})
        _say(f"ready. Docs portal (every API and the event catalog): http://127.0.0.1:{portal_port}/")
        _say("API docs:")
        for s, port in started:
            print(f"    {s.name:<16} http://127.0.0.1:{port}/docs", flush=True)
        ports = {s.name: port for s, port in started}
        if "analytics" in ports:
            _say(f"dashboard: http://127.0.0.1:{ports['analytics']}/dashboard#token={token}")
        print(f"\n    dev token (admin, 30 days):\n    {token}\n", flush=True)
        seed_demo_once(home, ports, token)
        _say(f"logs in {home / 'logs'}; press Ctrl-C to stop")
        while not stopping:
            for name, proc in platform.procs.items():
                if proc.poll() is not None:
                    _say(f"{name} exited with {proc.returncode}; stopping")
                    stopping = True
            time.sleep(0.5)
    finally:
        _say("stopping")
        platform.stop()
        _say("stopped")


def seed_demo_once(home: Path, ports: dict[str, int], token: str) -> None:
    """Load the demo business on the first start of a platform home (unless `WAFA_DEMO=0`)."""
    marker = home / "demo-seeded"
    if os.environ.get("WAFA_DEMO", "1") == "0" or marker.exists() or len(ports) < 5:
        return
    from wafa_shared.demo import DemoError, seed_demo
    from wafa_shared.demo.progress import ProgressBar

    customers = int(os.environ.get("WAFA_DEMO_CUSTOMERS", "2000"))
    _say(f"first start: loading the demo business ({customers} customers, 18 months; WAFA_DEMO=0 skips this)")
    bar = ProgressBar()
    try:
        summary = asyncio.run(seed_demo({n: f"http://127.0.0.1:{p}" for n, p in ports.items()}, token, customers=customers, progress=bar))
    except (DemoError, httpx.HTTPError) as exc:
        bar.close()
        _say(f"demo not loaded ({exc}); the platform runs without it. Retry with `wafa demo seed`.")
        return
    bar.close()
    marker.write_text(f"{summary.customers} customers, {summary.purchases} purchases\n")
    _say(f"demo loaded: {summary.customers} customers, {summary.purchases} purchases, {summary.responses} survey answers in {summary.seconds} s")

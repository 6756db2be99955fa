"""Real reference servers on 127.0.0.1 (subprocesses of `python -m sync.server`) and real counter databases."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine

from frontdesk.store.db import make_engine
from sync.client import ApiConfig, LoyaltyClient
from sync.outbox import OutboxWorker, RetryPolicy, WorkerOptions
from tests.sync.helpers import make_counter_db

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test-key-" + "x" * 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    db_path: Path
    port: int
    args: tuple[str, ...] = ()
    api_key: str = API_KEY
    process: subprocess.Popen[str] | None = None
    api_url: str = ""
    _session: requests.Session = field(default_factory=requests.Session)

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> RunningServer:
        command = [sys.executable, "-m", "devtools.loyalty_server", "--host", "127.0.0.1", "--port", str(self.port),
                   "--db", str(self.db_path), "--api-key", self.api_key, *self.args]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.process.stdout is not None
        first = self.process.stdout.readline().strip()
        if not first.startswith("http://"):
            self.process.kill()
            raise RuntimeError(f"server did not start: {first!r} {self.process.stderr.read() if self.process.stderr else ''}")
        self.api_url = first
        self.port = int(first.split(":")[2].split("/")[0])
        self._session.auth = (self.api_key, "")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self._session.get(f"{self.root_url}/_faults", timeout=2)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("server did not answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()
        self.process = None

    def faults(self, **switches: Any) -> dict[str, Any]:
        response = self._session.post(f"{self.root_url}/_faults", json={"reset": True, **switches}, timeout=5)
        response.raise_for_status()
        return response.json()

    def transactions(self) -> list[dict[str, Any]]:
        response = self._session.get(f"{self.root_url}/_admin/transactions", timeout=30)
        response.raise_for_status()
        return response.json()["data"]

    def client(self, **config: Any) -> LoyaltyClient:
        return LoyaltyClient(ApiConfig(base_url=self.api_url, api_key=self.api_key, **config))


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RunningServer]]:
    started: list[RunningServer] = []

    def start(*args: str, port: int = 0, db_path: Path | None = None, launch: bool = True) -> RunningServer:
        path = db_path or tmp_path_factory.mktemp("server") / "server.sqlite"
        server = RunningServer(db_path=path, port=port, args=args)
        started.append(server)
        return server.start() if launch else server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def shared_server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    """One server for tests that use unique receipt numbers and reset the faults they set."""
    return server_factory()


@pytest.fixture
def server(shared_server: RunningServer) -> Iterator[RunningServer]:
    shared_server.faults()
    yield shared_server
    shared_server.faults()


@pytest.fixture(scope="session")
def counter_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "counter.sqlite"
    make_counter_db(path).dispose()
    return path


@pytest.fixture
def counter(counter_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """A fresh demo counter database (same 300 members, same seed as the server's)."""
    path = tmp_path / "counter.sqlite"
    shutil.copy(counter_template, path)
    engine = make_engine(path)
    yield engine
    engine.dispose()


FAST_RETRY = RetryPolicy(base=0.05, cap=0.5, floor=0.01)


def fast_worker(engine: Engine, client: LoyaltyClient, **options: Any) -> OutboxWorker:
    settings = {"retry": FAST_RETRY, "offline_backoff": FAST_RETRY, "idle_interval": 0.2, **options}
    return OutboxWorker(engine, client, options=WorkerOptions(**settings))


def drain_until_empty(worker: OutboxWorker, timeout: float = 60.0) -> None:
    from tests.sync.helpers import outbox_statuses

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.run_once()
        statuses = outbox_statuses(worker.engine)
        if not statuses.get("pending") and not statuses.get("in_doubt"):
            return
        time.sleep(min(0.2, max(0.0, worker.seconds_until_next_run())))
    raise AssertionError(f"outbox not drained in {timeout} s: {outbox_statuses(worker.engine)}")

"""`frontdesk sync --once` on a disk that is full: it stops with one line and exit code 8, the outbox is intact,
and once there is room again the same entries are delivered exactly once (the idempotency keys hold)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from frontdesk.store import make_engine
from frontdesk.store.health import EXIT_FULL
from tests.conftest import fill_disk
from tests.sync.conftest import ROOT, RunningServer
from tests.sync.helpers import member_ids, outbox_statuses, queue_sale


def _sync_once(db: Path, server: RunningServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    config_dir = tmp_path / "sync-config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "frontdesk.toml").write_text(f'[api]\nurl = "{server.api_url}"\n', encoding="utf-8")
    env = {**os.environ, "FRONTDESK_CONFIG_DIR": str(config_dir), "FRONTDESK_API_KEY": server.api_key}
    return subprocess.run([sys.executable, "-m", "frontdesk", "sync", "--once", "--db", str(db)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def test_sync_stops_cleanly_on_a_full_disk_and_delivers_once_later(server, counter_template, small_disk, tmp_path):
    disk = small_disk(48 * 1024)
    db = disk / "counter.sqlite"
    shutil.copy(counter_template, db)
    engine = make_engine(db)
    receipts = [f"FULL-{uuid.uuid4().hex[:8]}" for _ in range(30)]
    for member_id, receipt in zip(member_ids(engine, 30), receipts):
        queue_sale(engine, member_id, receipt)
    engine.dispose()
    filler = fill_disk(disk)

    full = _sync_once(db, server, tmp_path)
    assert full.returncode == EXIT_FULL, (full.stdout, full.stderr)
    lines = [line for line in full.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is full" in lines[0] and "Traceback" not in full.stderr
    filler.unlink()  # room again (reading the file needs a little too: SQLite's shared-memory index)
    engine = make_engine(db)
    assert outbox_statuses(engine) == {"pending": 30}  # nothing marked, nothing lost
    engine.dispose()

    again = _sync_once(db, server, tmp_path)
    assert again.returncode == 0, (again.stdout, again.stderr)
    engine = make_engine(db)
    assert set(outbox_statuses(engine)) == {"done"}
    engine.dispose()
    delivered = [t for t in server.transactions() if any(r in str(t) for r in receipts)]
    assert len(delivered) == 30  # each sale once, however many times it was sent

"""The reference server's own SQLite file: members, codes, point transactions, idempotency records.

Separate from the counter's schema on purpose: the server stands in for a remote system the counter knows only
through HTTP. All writes go through one lock and one `BEGIN IMMEDIATE` transaction at a time, so a request's checks
(duplicate receipt number, idempotency key, balance) and its effects are atomic; reads run beside them (WAL).
"""
from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL DEFAULT '',
    email TEXT,
    phone TEXT,
    phone_code TEXT,
    phone_e164 TEXT,
    external_member_id TEXT,
    qr_code TEXT,
    birth_year INTEGER,
    birth_month INTEGER,
    birth_day INTEGER,
    tier_code TEXT,
    points INTEGER NOT NULL DEFAULT 0,
    lifetime_points INTEGER NOT NULL DEFAULT 0,
    window_spend_minor INTEGER NOT NULL DEFAULT 0,
    window_points INTEGER NOT NULL DEFAULT 0,
    total_spending_minor INTEGER NOT NULL DEFAULT 0,
    expiring_points INTEGER NOT NULL DEFAULT 0,
    expiring_on TEXT,
    num_visits INTEGER NOT NULL DEFAULT 0,
    num_claimed_rewards INTEGER NOT NULL DEFAULT 0,
    last_visit_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS users_phone ON users(phone_e164);
CREATE INDEX IF NOT EXISTS users_email ON users(email);
CREATE INDEX IF NOT EXISTS users_external ON users(external_member_id);
CREATE INDEX IF NOT EXISTS users_qr ON users(qr_code);
CREATE INDEX IF NOT EXISTS users_updated ON users(updated_at, id);
CREATE TABLE IF NOT EXISTS codes (
    code TEXT PRIMARY KEY,
    user_id INTEGER,
    name TEXT NOT NULL,
    method TEXT NOT NULL,
    amount_minor INTEGER NOT NULL DEFAULT 0,
    percentage TEXT,
    sku TEXT,
    status TEXT NOT NULL DEFAULT 'AVAILABLE',
    expires_at TEXT,
    used_at TEXT,
    used_transaction_no TEXT,
    used_store TEXT
);
CREATE INDEX IF NOT EXISTS codes_user ON codes(user_id);
CREATE TABLE IF NOT EXISTS reward_redemptions (
    id INTEGER PRIMARY KEY,
    reward_code TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    transaction_no TEXT,
    store TEXT,
    points INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    voided_at TEXT
);
CREATE INDEX IF NOT EXISTS redemptions_user ON reward_redemptions(user_id, reward_code);
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    store TEXT NOT NULL DEFAULT '',
    transaction_no TEXT,
    amount_minor INTEGER NOT NULL DEFAULT 0,
    points INTEGER NOT NULL DEFAULT 0,
    base_points INTEGER NOT NULL DEFAULT 0,
    additional_points INTEGER NOT NULL DEFAULT 0,
    deducted_points INTEGER NOT NULL DEFAULT 0,
    eligible_minor INTEGER NOT NULL DEFAULT 0,
    tax_minor INTEGER NOT NULL DEFAULT 0,
    service_charge_minor INTEGER NOT NULL DEFAULT 0,
    discount_minor INTEGER NOT NULL DEFAULT 0,
    items TEXT,
    payments TEXT,
    staff TEXT,
    note TEXT,
    occurred_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    voided_at TEXT,
    void_of INTEGER
);
CREATE INDEX IF NOT EXISTS transactions_store_no ON transactions(store, transaction_no);
CREATE INDEX IF NOT EXISTS transactions_user ON transactions(user_id, occurred_at);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

API_TIME = "%Y-%m-%d %H:%M:%S"
STORED_TIME = "%Y-%m-%d %H:%M:%S.%f"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def stored_time(moment: datetime) -> str:
    """Fixed-width UTC text: sorts as time does, and keeps microseconds for the member feed's cursor."""
    return moment.astimezone(timezone.utc).strftime(STORED_TIME)


def api_time(stored: str | None) -> str | None:
    """The API's `Y-m-d H:i:s` form of a stored time."""
    return stored[:19] if stored else None


def parse_time(text: str) -> datetime:
    """`Y-m-d H:i:s` (UTC), with optional fractions, or ISO 8601 with an offset."""
    cleaned = text.strip().replace("T", " ")
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    moment = datetime.fromisoformat(cleaned)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


class ServerStore:
    def __init__(self, path: str | Path, pool_size: int = 16) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._pool_size = pool_size
        conn = self._connect()
        conn.executescript(SCHEMA)
        self._pool.put(conn)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        # A test double: NORMAL keeps every commit atomic and ordered; only a power cut could lose the last ones.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _acquire(self) -> sqlite3.Connection:
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            return self._connect()

    def _release(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        self._pool.put(conn)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        conn = self._acquire()
        try:
            conn.execute("BEGIN")
            yield conn
        finally:
            self._release(conn)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write at a time; any exception rolls everything back."""
        conn = self._acquire()
        try:
            with self._write_lock:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        finally:
            self._release(conn)

    def meta(self, key: str) -> str | None:
        with self.read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:
                pass

"""How sync is doing, in one immutable value the status bar can show: online or not, what is waiting, what is stuck.

Online/offline is decided by periodic probes and by real deliveries, never by a single check: one failed request
on a flaky counter Wi-Fi does not flip the counter to "Offline"; several in a row do. One success is enough to be
online again, because a success is proof.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, func, select

from frontdesk.store.models import OutboxEntry

ONLINE = "online"
OFFLINE = "offline"
UNKNOWN = "unknown"
NOT_CONFIGURED = "not_configured"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class QueueStats:
    queued: int = 0  # pending and in-doubt entries (waiting, being retried, or resent after a lost answer)
    parked: int = 0  # need a manager
    in_doubt: int = 0  # of the queued: sent, answer lost, being resolved by resending
    oldest_unsynced_at: datetime | None = None  # created_at of the oldest pending or parked entry


def read_queue_stats(engine: Engine) -> QueueStats:
    with engine.connect() as conn:
        rows = conn.execute(
            select(OutboxEntry.status, func.count(), func.min(OutboxEntry.created_at))
            .where(OutboxEntry.status.in_(("pending", "in_doubt", "parked")))
            .group_by(OutboxEntry.status)
        ).all()
    counts = {status: count for status, count, _ in rows}
    oldest_text = min((oldest for _, _, oldest in rows if oldest), default=None)
    oldest = None
    if oldest_text:
        oldest = datetime.fromisoformat(oldest_text) if isinstance(oldest_text, str) else oldest_text
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=timezone.utc)
    return QueueStats(queued=counts.get("pending", 0) + counts.get("in_doubt", 0), parked=counts.get("parked", 0),
                      in_doubt=counts.get("in_doubt", 0), oldest_unsynced_at=oldest)


class Connectivity:
    """Online after one success; offline after `failures_to_offline` consecutive failures; unknown before either."""

    def __init__(self, failures_to_offline: int = 3) -> None:
        self.failures_to_offline = max(1, failures_to_offline)
        self._lock = threading.Lock()
        self.state = UNKNOWN
        self.consecutive_failures = 0
        self.last_success_at: datetime | None = None
        self.last_failure: str | None = None
        self.auth_problem: str | None = None
        self.latency: float | None = None

    def is_online(self) -> bool:
        """Cheap and thread-safe: the server answered last time and accepts our key (read inside transactions)."""
        return self.state == ONLINE and self.auth_problem is None

    def record_success(self, latency: float | None = None, at: datetime | None = None) -> bool:
        """Returns True when this success brought the counter back online."""
        with self._lock:
            was = self.state
            self.state = ONLINE
            self.consecutive_failures = 0
            self.last_success_at = at or utc_now()
            self.auth_problem = None
            if latency is not None:
                self.latency = latency
            return was != ONLINE

    def record_failure(self, reason: str) -> bool:
        """Returns True when this failure took the counter offline."""
        with self._lock:
            self.consecutive_failures += 1
            self.last_failure = reason
            if self.consecutive_failures >= self.failures_to_offline and self.state != OFFLINE:
                self.state = OFFLINE
                return True
            return False

    def record_auth_failure(self, reason: str) -> None:
        """The server answered, so the network is fine, but it refuses our key."""
        with self._lock:
            self.state = ONLINE
            self.consecutive_failures = 0
            self.auth_problem = reason


@dataclass(frozen=True)
class SyncStatus:
    connectivity: str = UNKNOWN  # online | offline | unknown | not_configured
    queued: int = 0
    parked: int = 0
    in_doubt: int = 0  # of the queued: answer lost, being settled by resending
    oldest_unsynced_at: datetime | None = None
    auth_problem: str | None = None
    last_error: str | None = None
    last_success_at: datetime | None = None
    checked_at: datetime | None = None
    syncing: bool = False
    paused_until: datetime | None = None  # the server asked us to slow down (429)

    @property
    def online(self) -> bool:
        return self.connectivity == ONLINE and self.auth_problem is None

    @property
    def needs_attention(self) -> int:
        return self.parked

    @property
    def level(self) -> str:
        """ok | busy | warning | error: how loudly the status bar should speak."""
        if self.auth_problem or self.parked:
            return "error"
        if self.connectivity in (OFFLINE, NOT_CONFIGURED) and self.queued:
            return "warning"
        if self.queued:
            return "busy"
        return "ok"

    def oldest_age(self, now: datetime | None = None) -> timedelta | None:
        if self.oldest_unsynced_at is None:
            return None
        return max(timedelta(0), (now or utc_now()) - self.oldest_unsynced_at)

    def summary(self, now: datetime | None = None) -> str:
        """"Online · 3 queued · oldest 2 min · 1 needs attention" (the status bar's text)."""
        if self.auth_problem:
            head = "API key refused"
        else:
            head = {ONLINE: "Online", OFFLINE: "Offline", UNKNOWN: "Connecting…",
                    NOT_CONFIGURED: "Sync off"}.get(self.connectivity, self.connectivity)
        parts = [head]
        if self.queued:
            parts.append(f"{self.queued} queued")
            if self.in_doubt:
                parts.append(f"{self.in_doubt} in doubt")
            age = self.oldest_age(now)
            if age is not None:
                parts.append(f"oldest {format_age(age)}")
        elif not self.parked and self.connectivity == ONLINE and not self.auth_problem:
            parts.append("all synced")
        if self.parked:
            parts.append(f"{self.parked} need{'s' if self.parked == 1 else ''} attention")
        return " · ".join(parts)

    def with_queue(self, stats: QueueStats) -> SyncStatus:
        return replace(self, queued=stats.queued, parked=stats.parked, in_doubt=stats.in_doubt,
                       oldest_unsynced_at=stats.oldest_unsynced_at)


def format_age(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d"

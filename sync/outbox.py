"""Delivering the outbox to the loyalty API: in order per member, exactly once in effect, resuming after any crash.

The checkout writes each effect (sale, void, refund, enrolment, point adjustment) as an `outbox` row in the same
transaction as the sale itself. This worker delivers them. Its rules:

- Order. Entries sharing a `partition_key` (one member's effects) are delivered strictly one after another, in id
  order. An entry waiting for a retry, or parked for a manager, holds back the entries behind it in its partition;
  other partitions carry on. Partitions are delivered concurrently by a small thread pool.
- Exactly once. Every POST carries the entry's idempotency key (`Idempotency-Key`; multi-step entries derive one key
  per step). If an answer is lost and the server does not replay it, the receipt number is the natural key: a
  "transaction_no has already been taken" answer is checked against the server's record of that receipt and, if it
  is the same sale, taken as delivered.
- Failures. Transient ones (network, 5xx, 429, garbage answers) are retried with exponential backoff and full
  jitter, capped; `Retry-After` is honoured for everyone. Permanent ones (validation, not found) park the entry with
  the reason, and its sale and ledger rows are marked rejected, for a manager to retry or discard (both audited).
  An authentication failure is a configuration problem: the worker pauses and says so, and no entry is charged.
- Crash safety. All state is in the database. Outcomes are committed in batches (one fsync per batch, not per
  entry); an outcome lost to a crash only means the entry is sent again with the same key, which the server replays.

Qt-free: `run_once()` drains what is due and returns a report; `run_forever(stop_event)` loops until stopped.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from queue import Empty, SimpleQueue
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from frontdesk.store.db import make_read_engine
from frontdesk.store.models import AuditEntry, LedgerEntry, Member, MemberVoucher, OutboxEntry, Sale
from sync.client import LoyaltyClient
from sync.errors import (
    ApiError,
    AuthError,
    BadResponse,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
    ValidationError,
    summarise,
)

log = logging.getLogger(__name__)

OUTBOX = OutboxEntry.__table__
SALES = Sale.__table__
LEDGER = LedgerEntry.__table__
MEMBERS = Member.__table__
VOUCHERS = MemberVoucher.__table__
AUDIT = AuditEntry.__table__

IDENTIFIER_FIELDS = ("user_id", "phone", "phone_code", "email", "external_member_id")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: a random delay in [0, min(cap, base × 2^(attempt−1))]."""

    base: float = 1.0
    cap: float = 300.0
    floor: float = 0.05  # never retry in a hot loop, however the dice fall

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * (2 ** max(0, min(attempt - 1, 30))))
        return max(self.floor, rng.uniform(0.0, ceiling))


@dataclass(frozen=True)
class WorkerOptions:
    threads: int = 6
    run_length: int = 25  # consecutive entries of one partition handled by one task before it yields
    load_limit: int = 3000  # entries loaded per round
    commit_every: int = 200  # outcomes per commit ...
    commit_interval: float = 0.25  # ... or seconds, whichever comes first
    retry: RetryPolicy = RetryPolicy()
    idle_interval: float = 15.0  # run_forever: longest sleep when nothing is due
    offline_backoff: RetryPolicy = RetryPolicy(base=1.0, cap=60.0)  # run_forever, while unreachable
    auth_pause: float = 60.0  # run_forever: how long to wait after an authentication failure
    network_failures_to_stop: int = 3  # consecutive network failures in one run that end it


@dataclass
class Entry:
    """An outbox row as the worker needs it (plain data, safe to hand to a pool thread)."""

    id: int
    idempotency_key: str
    kind: str
    partition_key: str
    sale_id: int | None
    member_id: int | None
    payload: dict[str, Any]
    attempts: int
    response: Any
    original_server_transaction_id: str | None = None
    original_status: str | None = None  # the original sale's outbox/sale fate, for voids and refunds

    def progress(self) -> dict[str, Any]:
        if isinstance(self.response, dict) and isinstance(self.response.get("progress"), dict):
            return dict(self.response["progress"])
        return {}


@dataclass
class Outcome:
    entry: Entry
    result: str  # done | retry | park | auth
    answer: dict[str, Any] | None = None
    error: str | None = None
    retry_after: float | None = None
    network: bool = False
    progress: dict[str, Any] = field(default_factory=dict)
    server_transaction_id: str | None = None
    server_points: int | None = None
    balance: int | None = None
    server_user_id: int | None = None
    duplicate_resolved: bool = False


@dataclass
class DrainReport:
    delivered: int = 0
    duplicates_resolved: int = 0
    retried: int = 0
    parked: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    auth_error: str | None = None
    network_error: str | None = None
    rate_limited_until: datetime | None = None
    elapsed: float = 0.0
    last_error: str | None = None

    @property
    def attempted(self) -> int:
        return self.delivered + self.retried + self.parked

    def merge(self, other: DrainReport) -> None:
        self.delivered += other.delivered
        self.duplicates_resolved += other.duplicates_resolved
        self.retried += other.retried
        self.parked += other.parked
        for kind, count in other.by_kind.items():
            self.by_kind[kind] += count
        self.auth_error = other.auth_error or self.auth_error
        self.network_error = other.network_error
        self.rate_limited_until = other.rate_limited_until or self.rate_limited_until
        self.last_error = other.last_error or self.last_error
        self.elapsed += other.elapsed

    def summary(self) -> str:
        parts = [f"{self.delivered} delivered"]
        if self.duplicates_resolved:
            parts.append(f"{self.duplicates_resolved} already on the server")
        if self.retried:
            parts.append(f"{self.retried} to retry")
        if self.parked:
            parts.append(f"{self.parked} need attention")
        text = ", ".join(parts) + f" in {self.elapsed:.1f} s"
        if self.auth_error:
            text += f"; API key refused: {self.auth_error}"
        elif self.network_error:
            text += f"; server unreachable: {self.network_error}"
        return text


class OutboxWorker:
    """Delivers due outbox entries. One instance per database; safe to call `run_once` from one thread at a time."""

    def __init__(self, engine: Engine, client: LoyaltyClient, *, options: WorkerOptions | None = None,
                 read_engine: Engine | None = None, clock: Callable[[], datetime] = utc_now,
                 rng: random.Random | None = None,
                 on_progress: Callable[[DrainReport], None] | None = None) -> None:
        self.engine = engine
        self.read_engine = read_engine or make_read_engine(engine.url.database or "")
        self.client = client
        self.options = options or WorkerOptions()
        self.clock = clock
        self.rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self.on_progress = on_progress
        self._not_before: datetime | None = None  # 429: nobody sends before this
        self._halt = threading.Event()  # auth failure or too many network failures: stop the current run
        self._halt_reason: tuple[str, str] | None = None
        self._network_streak = 0
        self._streak_lock = threading.Lock()
        self.paused_reason: str | None = None  # authentication problem, shown to the user
        self.failed_runs = 0  # consecutive runs that reached nobody (run_forever's offline backoff)
        self._force_seen: set[int] | None = None
        self._wake = threading.Event()

    # --- public ---------------------------------------------------------------------------------------------
    def wake(self) -> None:
        """Something new was queued (or a manager pressed Retry): run without waiting for the timer."""
        self._wake.set()

    def run_once(self, max_seconds: float | None = None, *, force: bool = False) -> DrainReport:
        """Deliver every entry that is due now (and whatever becomes due while doing so); return what happened.

        `force` ("sync now"): entries waiting out a backoff are tried too, each at most once in this run.
        """
        started = time.perf_counter()
        report = DrainReport()
        self._halt.clear()
        self._halt_reason = None
        self._network_streak = 0
        now = self.clock()
        if self._not_before is not None and now < self._not_before:
            report.rate_limited_until = self._not_before
            report.elapsed = time.perf_counter() - started
            return report
        self._force_seen = set() if force else None
        reached_server = False
        with ThreadPoolExecutor(max_workers=max(1, self.options.threads), thread_name_prefix="outbox") as pool:
            while not self._halt.is_set():
                runs = self._load_due_runs()
                if not runs:
                    break
                round_report = self._deliver_runs(pool, runs)
                reached_server = reached_server or round_report.delivered > 0 or round_report.parked > 0
                report.merge(round_report)
                if self.on_progress is not None:
                    self.on_progress(report)
                if round_report.attempted == 0:
                    break
                if max_seconds is not None and time.perf_counter() - started > max_seconds:
                    break
        if self._halt_reason is not None:
            kind, message = self._halt_reason
            if kind == "auth":
                report.auth_error = message
            elif kind == "network":
                report.network_error = message
            elif kind == "rate":
                report.rate_limited_until = self._not_before
        if report.auth_error:
            self.paused_reason = report.auth_error
        elif reached_server:
            self.paused_reason = None
        if report.network_error and not reached_server:
            self.failed_runs += 1
        elif reached_server or report.attempted:
            self.failed_runs = 0
        report.elapsed = time.perf_counter() - started
        self._force_seen = None
        return report

    def next_due_at(self) -> datetime | None:
        """When the earliest waiting entry becomes due (None: nothing pending)."""
        now = self.clock()
        with self.read_engine.connect() as conn:
            chosen, next_due = self._scan(conn, now)
        return now if chosen else next_due

    def seconds_until_next_run(self, report: DrainReport | None = None) -> float:
        """How long run_forever should sleep after a run (woken early by `wake()`)."""
        now = self.clock()
        if report is not None and report.auth_error:
            return self.options.auth_pause
        if self._not_before is not None and now < self._not_before:
            return (self._not_before - now).total_seconds()
        if self.failed_runs:
            return self.options.offline_backoff.delay(self.failed_runs, self.rng)
        due = self.next_due_at()
        if due is None:
            return self.options.idle_interval
        return max(0.0, min(self.options.idle_interval, (due - now).total_seconds()))

    def run_forever(self, stop_event: threading.Event,
                    on_report: Callable[[DrainReport], None] | None = None) -> None:
        """Deliver until `stop_event` is set; sleeps between runs, woken early by `wake()` or `stop_event`."""
        while not stop_event.is_set():
            try:
                report = self.run_once()
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the sync thread for the day
                log.exception("outbox run failed; trying again shortly")
                report = None
                pause = self.options.offline_backoff.delay(1, self.rng)
            else:
                if on_report is not None:
                    on_report(report)
                pause = self.seconds_until_next_run(report)
            self._wait(stop_event, pause)

    def _wait(self, stop_event: threading.Event, seconds: float) -> None:
        deadline = time.monotonic() + max(0.0, seconds)
        while not stop_event.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self._wake.wait(timeout=min(left, 0.25)):
                self._wake.clear()
                if self.paused_reason is None:
                    self.failed_runs = 0
                return

    # --- loading --------------------------------------------------------------------------------------------
    def _load_due_runs(self) -> list[list[Entry]]:
        """For each partition, the leading entries that are due now, in order, stopping at a blocked one."""
        now = self.clock()
        with self.read_engine.connect() as conn:
            chosen, _next_due = self._scan(conn, now)
            if not chosen:
                return []
            all_ids = [entry_id for ids in chosen.values() for entry_id in ids]
            rows: dict[int, Any] = {}
            for start in range(0, len(all_ids), 500):
                chunk = all_ids[start:start + 500]
                for row in conn.execute(select(OUTBOX).where(OUTBOX.c.id.in_(chunk))):
                    rows[row.id] = row
            originals = self._originals(conn, rows.values())
        runs: list[list[Entry]] = []
        for key, ids in chosen.items():
            run: list[Entry] = []
            for entry_id in ids:
                row = rows.get(entry_id)
                if row is None or row.status != "pending":
                    break
                payload = row.payload if isinstance(row.payload, dict) else {}
                entry = Entry(id=row.id, idempotency_key=row.idempotency_key, kind=row.kind, partition_key=key,
                              sale_id=row.sale_id, member_id=row.member_id, payload=payload, attempts=row.attempts,
                              response=row.response)
                original_id = payload.get("original_sale_id")
                if isinstance(original_id, int) and original_id in originals:
                    entry.original_server_transaction_id, entry.original_status = originals[original_id]
                run.append(entry)
            if run:
                runs.append(run)
        return runs

    def _scan(self, conn: Connection, now: datetime) -> tuple[dict[str, list[int]], datetime | None]:
        """Due entries per partition (leading ones, in order) and when the earliest waiting partition head is due.

        A partition stops at its first entry that is parked (until a manager acts) or not yet due (backoff).
        """
        heads = conn.execute(
            select(OUTBOX.c.id, OUTBOX.c.partition_key, OUTBOX.c.status, OUTBOX.c.next_attempt_at)
            .where(OUTBOX.c.status.in_(("pending", "parked")))
            .order_by(OUTBOX.c.id)
        ).all()
        chosen: dict[str, list[int]] = {}
        blocked: set[str] = set()
        next_due: datetime | None = None
        total = 0
        for entry_id, partition, status, next_at in heads:
            key = partition or f"entry:{entry_id}"
            if key in blocked:
                continue
            if status != "pending":
                blocked.add(key)
                continue
            forced = self._force_seen
            if forced is not None and entry_id in forced:
                blocked.add(key)
                continue
            if next_at is not None and next_at > now and forced is None:
                blocked.add(key)
                if key not in chosen and (next_due is None or next_at < next_due):
                    next_due = next_at
                continue
            ids = chosen.setdefault(key, [])
            if len(ids) >= self.options.run_length or total >= self.options.load_limit:
                blocked.add(key)
                continue
            ids.append(entry_id)
            total += 1
        forced = self._force_seen
        if forced is not None:
            forced.update(entry_id for ids in chosen.values() for entry_id in ids)
        return {key: ids for key, ids in chosen.items() if ids}, next_due

    def _originals(self, conn: Connection, rows: Iterable[Any]) -> dict[int, tuple[str | None, str | None]]:
        wanted = {row.payload.get("original_sale_id") for row in rows if isinstance(row.payload, dict)}
        wanted = {value for value in wanted if isinstance(value, int)}
        if not wanted:
            return {}
        found: dict[int, tuple[str | None, str | None]] = {}
        for sale_id, server_tx, status in conn.execute(
                select(SALES.c.id, SALES.c.server_transaction_id, SALES.c.status).where(SALES.c.id.in_(wanted))):
            found[sale_id] = (server_tx, status)
        # An original whose own entry was discarded by a manager never reached the server.
        for sale_id, status in conn.execute(
                select(OUTBOX.c.sale_id, OUTBOX.c.status).where(OUTBOX.c.sale_id.in_(wanted),
                                                                 OUTBOX.c.kind == "sale")):
            if sale_id in found and status == "discarded":
                found[sale_id] = (found[sale_id][0], "discarded")
        return found

    # --- delivering -----------------------------------------------------------------------------------------
    def _deliver_runs(self, pool: ThreadPoolExecutor, runs: list[list[Entry]]) -> DrainReport:
        """Send the runs on the pool; commit outcomes as they arrive, in batches (not per entry, not per run)."""
        report = DrainReport()
        arrived: SimpleQueue[Outcome] = SimpleQueue()
        pending: list[Outcome] = []
        last_commit = time.perf_counter()
        queue = list(runs)
        in_flight: set[Future[None]] = set()
        limit = max(1, self.options.threads) * 2
        while queue or in_flight:
            while queue and len(in_flight) < limit and not self._halt.is_set():
                in_flight.add(pool.submit(self._deliver_run, queue.pop(0), arrived))
            if not in_flight:
                break
            done, in_flight = wait(in_flight, timeout=self.options.commit_interval / 2,
                                   return_when=FIRST_COMPLETED)
            for future in done:
                future.result()  # a programming error in a task surfaces here, not silently
            while True:
                try:
                    pending.append(arrived.get_nowait())
                except Empty:
                    break
            if pending and (len(pending) >= self.options.commit_every or not in_flight
                            or time.perf_counter() - last_commit >= self.options.commit_interval):
                self._commit(pending, report)
                pending = []
                last_commit = time.perf_counter()
        while True:
            try:
                pending.append(arrived.get_nowait())
            except Empty:
                break
        if pending:
            self._commit(pending, report)
        return report

    def _deliver_run(self, run: list[Entry], arrived: SimpleQueue[Outcome]) -> None:
        """One partition's due entries, strictly in order, stopping at the first that is not delivered."""
        learned: dict[int, str] = {}  # sale id -> server transaction id, for a void later in the same run
        for entry in run:
            if self._halt.is_set():
                break
            original = entry.payload.get("original_sale_id")
            if isinstance(original, int) and original in learned:
                entry.original_server_transaction_id = learned[original]
                entry.original_status = "synced"
            outcome = self._deliver(entry)
            arrived.put(outcome)
            if outcome.result != "done":
                break
            if entry.sale_id is not None and outcome.server_transaction_id:
                learned[entry.sale_id] = outcome.server_transaction_id

    def _deliver(self, entry: Entry) -> Outcome:
        progress = entry.progress()
        try:
            handler = {
                "sale": self._send_sale,
                "void": self._send_void,
                "refund": self._send_refund,
                "adjust": self._send_post,
                "enrol": self._send_enrol,
                "redeem": self._send_post,
            }.get(entry.kind)
            if handler is None:
                return Outcome(entry, "park", error=f"unknown outbox entry kind “{entry.kind}”")
            outcome = handler(entry, progress)
            self._note_network(ok=True)
            return outcome
        except AuthError as error:
            self._stop_all("auth", summarise(error))
            return Outcome(entry, "auth", error=summarise(error), progress=progress)
        except RateLimited as error:
            wait_for = error.retry_after if error.retry_after is not None else self.options.retry.base
            until = self.clock() + timedelta(seconds=wait_for)
            if self._not_before is None or until > self._not_before:
                self._not_before = until
            self._stop_all("rate", summarise(error))
            return Outcome(entry, "retry", error=summarise(error), retry_after=wait_for, progress=progress)
        except (NetworkError, BadResponse) as error:
            self._note_network(ok=False, message=summarise(error))
            return Outcome(entry, "retry", error=summarise(error), network=True, progress=progress)
        except ServerError as error:
            return Outcome(entry, "retry", error=summarise(error), progress=progress)
        except (ValidationError, NotFound) as error:
            return Outcome(entry, "park", error=summarise(error), progress=progress)
        except ApiError as error:
            return Outcome(entry, "retry", error=summarise(error), progress=progress)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            # A payload this version cannot read: retrying will not help, a person must look at it.
            log.exception("outbox entry %s has a payload that cannot be sent", entry.id)
            return Outcome(entry, "park", error=f"cannot send this entry: {type(error).__name__}: {error}",
                           progress=progress)

    def _stop_all(self, kind: str, message: str) -> None:
        if self._halt_reason is None or kind == "auth":
            self._halt_reason = (kind, message)
        self._halt.set()

    def _note_network(self, *, ok: bool, message: str = "") -> None:
        with self._streak_lock:
            if ok:
                self._network_streak = 0
                return
            self._network_streak += 1
            if self._network_streak >= self.options.network_failures_to_stop:
                self._stop_all("network", message)

    # --- one entry per kind ---------------------------------------------------------------------------------
    def _send_sale(self, entry: Entry, progress: dict[str, Any]) -> Outcome:
        payload = entry.payload
        params = _clean(payload["params"])
        redeemed = list(progress.get("redeemed", []))
        for code in payload.get("redeem_codes") or []:
            if code in redeemed:
                continue
            redeem_params = {"redeem_code": code, "transaction_no": params.get("transaction_no"),
                             "amount": params.get("amount"), "custom_store_id": params.get("custom_store_id"),
                             "custom_store_code": params.get("custom_store_code"),
                             "custom_staff_id": params.get("custom_staff_id"),
                             **{k: params[k] for k in IDENTIFIER_FIELDS if params.get(k) is not None}}
            try:
                self.client.redeem(redeem_params, idempotency_key=f"{entry.idempotency_key}:redeem:{code}")
            except ValidationError as error:
                # Used by an earlier attempt of this very entry whose answer was lost: already applied.
                if not (entry.attempts > 0 and _mentions(error, "redeem_code", "already been used")):
                    raise
            redeemed.append(code)
            progress["redeemed"] = redeemed
        try:
            answer = self.client.issue_point(params, idempotency_key=entry.idempotency_key)
        except ValidationError as error:
            if "transaction_no" in error.fields:
                return self._resolve_duplicate_sale(entry, params, error, progress)
            raise
        return self._sale_done(entry, answer, progress)

    def _sale_done(self, entry: Entry, answer: dict[str, Any], progress: dict[str, Any],
                   duplicate: bool = False) -> Outcome:
        transaction = answer.get("transaction") if isinstance(answer.get("transaction"), dict) else {}
        server_tx = answer.get("transaction_id", transaction.get("id"))
        points = _int(answer.get("points", transaction.get("points")))
        return Outcome(entry, "done", answer=_trim(answer), progress=progress,
                       server_transaction_id=None if server_tx is None else str(server_tx), server_points=points,
                       balance=_int(answer.get("point_balance")),
                       server_user_id=_int(answer.get("user_id", transaction.get("user_id"))),
                       duplicate_resolved=duplicate)

    def _resolve_duplicate_sale(self, entry: Entry, params: dict[str, Any], error: ValidationError,
                                progress: dict[str, Any]) -> Outcome:
        """The server already holds this receipt number. Same sale: delivered earlier, answer lost. Else: park."""
        transaction_no = str(params.get("transaction_no") or "")
        store = str(params.get("custom_store_code") or params.get("custom_store_id") or "")
        records = self.client.point_transactions(transaction_no=transaction_no, store=store or None)
        record = next((r for r in records if str(r.get("transaction_no")) == transaction_no
                       and r.get("type", "purchase") in ("purchase", None)), None)
        if record is None:
            raise error
        same_amount = _decimal(record.get("amount")) == _decimal(params.get("amount"))
        if not same_amount:
            raise ValidationError(
                f"receipt {transaction_no} is already on the server for a different amount "
                f"({record.get('amount')}, this sale {params.get('amount')})",
                {"transaction_no": [f"already used on the server by a sale with a different amount "
                                    f"({record.get('amount')}; this sale {params.get('amount')})"]})
        answer: dict[str, Any] = {"transaction_id": record.get("id"), "points": record.get("points"),
                                  "user_id": record.get("user_id"), "transaction": record, "resolved_duplicate": True}
        user_id = record.get("user_id")
        if user_id is not None:
            try:
                user = self.client.user_show(user_id=user_id, list_redeemable=False, list_point_conversion=False)
                answer["point_balance"] = _balance_of(user)
            except (NotFound, ValidationError):
                pass
        return self._sale_done(entry, answer, progress, duplicate=True)

    def _send_void(self, entry: Entry, progress: dict[str, Any]) -> Outcome:
        payload = entry.payload
        server_tx = entry.original_server_transaction_id
        if not progress.get("voided"):
            if not server_tx:
                if entry.original_status in ("discarded", "rejected"):
                    reason = "the original sale never reached the server, so there is nothing to void"
                else:
                    reason = "the original sale has no server transaction id to void"
                raise ValidationError(reason, {"original_sale_id": [reason]})
            form = _clean({k: v for k, v in (payload.get("params") or {}).items()})
            if payload.get("transaction_no") and "transaction_no" not in form:
                form["transaction_no"] = payload["transaction_no"]
            try:
                answer = self.client.void_transaction(server_tx, form, idempotency_key=entry.idempotency_key)
            except ValidationError as error:
                if not _mentions(error, "transaction_id", "already been voided"):
                    raise
                answer = {"already_voided": True, "voided_transaction_id": server_tx}
            progress["voided"] = True
            progress["answer"] = _trim(answer)
        answer = progress.get("answer") or {}
        restored = list(progress.get("vouchers", []))
        for code in payload.get("redeem_codes") or []:
            if code in restored:
                continue
            try:
                self.client.void_used_reward({"redeem_code": code, "transaction_no": payload.get("transaction_no")},
                                             idempotency_key=f"{entry.idempotency_key}:voucher:{code}")
            except ValidationError as error:
                if not _mentions(error, "redeem_code", "not been used"):
                    raise
            restored.append(code)
            progress["vouchers"] = restored
        transaction_id = answer.get("transaction_id")
        return Outcome(entry, "done", answer=answer, progress=progress,
                       server_transaction_id=None if transaction_id is None else str(transaction_id),
                       server_points=_int(answer.get("points")), balance=_int(answer.get("point_balance")))

    def _send_refund(self, entry: Entry, progress: dict[str, Any]) -> Outcome:
        if isinstance(entry.payload.get("original_sale_id"), int) and not entry.original_server_transaction_id \
                and entry.original_status in ("discarded", "rejected"):
            reason = "the original sale never reached the server, so there are no points to take back"
            raise ValidationError(reason, {"original_sale_id": [reason]})
        return self._send_post(entry, progress)

    def _send_post(self, entry: Entry, progress: dict[str, Any]) -> Outcome:
        endpoint = entry.payload.get("endpoint") or "point/adjust"
        answer = self.client.post(endpoint, _clean(entry.payload.get("params") or {}),
                                  idempotency_key=entry.idempotency_key)
        transaction_id = answer.get("transaction_id")
        return Outcome(entry, "done", answer=_trim(answer), progress=progress,
                       server_transaction_id=None if transaction_id is None else str(transaction_id),
                       server_points=_int(answer.get("points")), balance=_int(answer.get("point_balance")),
                       server_user_id=_int(answer.get("user_id")))

    def _send_enrol(self, entry: Entry, progress: dict[str, Any]) -> Outcome:
        params = _clean(entry.payload.get("params") or {})
        try:
            answer = self.client.create_user(params, idempotency_key=entry.idempotency_key)
        except ValidationError as error:
            taken = [name for name in ("phone", "email", "external_member_id") if _mentions(error, name, "taken")]
            if not taken:
                raise
            existing = self._find_enrolled(params)
            if existing is None:
                raise
            answer = existing
        user_id = _int(answer.get("id"))
        if user_id is None:
            raise BadResponse("the member was created but the answer has no member id")
        return Outcome(entry, "done", answer=_trim(answer), progress=progress, server_user_id=user_id,
                       balance=_balance_of(answer))

    def _find_enrolled(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The server already knows this phone/email: it is ours only if it carries our external member id."""
        external = params.get("external_member_id")
        if not external:
            return None
        lookups = []
        if params.get("phone"):
            lookups.append({"phone": params["phone"], "phone_code": params.get("phone_code")})
        if params.get("email"):
            lookups.append({"email": params["email"]})
        for lookup in lookups:
            try:
                user = self.client.user_show(**lookup, list_redeemable=False, list_point_conversion=False)
            except NotFound:
                continue
            if str(user.get("external_member_id") or "") == str(external):
                return user
        return None

    # --- committing -----------------------------------------------------------------------------------------
    def _commit(self, outcomes: list[Outcome], report: DrainReport) -> None:
        now = self.clock()
        outcomes = sorted(outcomes, key=lambda outcome: outcome.entry.id)
        done = [o for o in outcomes if o.result == "done"]
        retry = [o for o in outcomes if o.result == "retry"]
        park = [o for o in outcomes if o.result == "park"]
        with self.engine.begin() as conn:
            if done:
                self._apply_done(conn, done, now)
            for outcome in retry:
                if outcome.retry_after is not None:
                    delay = outcome.retry_after + self._uniform(0, min(1.0, outcome.retry_after * 0.1))
                else:
                    delay = self._delay(outcome.entry.attempts + 1)
                conn.execute(update(OUTBOX).where(OUTBOX.c.id == outcome.entry.id).values(
                    attempts=OUTBOX.c.attempts + 1, next_attempt_at=now + timedelta(seconds=delay),
                    last_error=outcome.error, response={"progress": outcome.progress} if outcome.progress else {}))
            for outcome in park:
                self._apply_park(conn, outcome, now)
            for outcome in outcomes:
                if outcome.result == "auth" and outcome.progress:
                    conn.execute(update(OUTBOX).where(OUTBOX.c.id == outcome.entry.id).values(
                        response={"progress": outcome.progress}))
        for outcome in done:
            report.delivered += 1
            report.by_kind[outcome.entry.kind] += 1
            if outcome.duplicate_resolved:
                report.duplicates_resolved += 1
        report.retried += len(retry)
        report.parked += len(park)
        for outcome in retry + park:
            report.last_error = outcome.error
        for outcome in park:
            log.warning("outbox entry %s (%s) parked: %s", outcome.entry.id, outcome.entry.kind, outcome.error)

    def _delay(self, attempt: int) -> float:
        with self._rng_lock:
            return self.options.retry.delay(attempt, self.rng)

    def _uniform(self, low: float, high: float) -> float:
        with self._rng_lock:
            return self.rng.uniform(low, high)

    def _apply_done(self, conn: Connection, done: list[Outcome], now: datetime) -> None:
        conn.execute(
            update(OUTBOX).where(OUTBOX.c.id == bindparam("b_id")).values(
                status="done", attempts=OUTBOX.c.attempts + 1, delivered_at=now, next_attempt_at=None,
                last_error=None, response=bindparam("b_response")),
            [{"b_id": o.entry.id, "b_response": o.answer or {}} for o in done])
        sale_rows = [{"b_sale": o.entry.sale_id, "b_tx": o.server_transaction_id, "b_points": o.server_points}
                     for o in done if o.entry.sale_id is not None and o.entry.kind in ("sale", "void", "refund")]
        if sale_rows:
            conn.execute(update(SALES).where(SALES.c.id == bindparam("b_sale")).values(
                status="synced", reject_reason=None,
                server_transaction_id=func.coalesce(bindparam("b_tx"), SALES.c.server_transaction_id),
                server_points=func.coalesce(bindparam("b_points"), SALES.c.server_points)), sale_rows)
        ledger_rows = [{"b_sale": o.entry.sale_id} for o in done if o.entry.sale_id is not None]
        if ledger_rows:
            conn.execute(update(LEDGER).where(LEDGER.c.sale_id == bindparam("b_sale"),
                                              LEDGER.c.status == "pending").values(status="confirmed"), ledger_rows)
        confirm_ids = [int(i) for o in done for i in (o.entry.payload.get("ledger_entry_ids") or [])
                       if isinstance(i, int)]
        if confirm_ids:
            conn.execute(update(LEDGER).where(LEDGER.c.id.in_(confirm_ids), LEDGER.c.status == "pending")
                         .values(status="confirmed"))
        used_codes = [(o.entry.member_id, code) for o in done if o.entry.kind == "sale" and o.entry.member_id
                      for code in (o.entry.payload.get("redeem_codes") or [])]
        for member_id, code in used_codes:
            conn.execute(update(VOUCHERS).where(VOUCHERS.c.code == code, VOUCHERS.c.member_id == member_id)
                         .values(status="used"))
        restored = [(o.entry.member_id, code) for o in done if o.entry.kind == "void" and o.entry.member_id
                    for code in (o.entry.payload.get("redeem_codes") or [])]
        for member_id, code in restored:
            conn.execute(update(VOUCHERS).where(VOUCHERS.c.code == code, VOUCHERS.c.member_id == member_id)
                         .values(status="available"))
        for outcome in done:
            member_id = outcome.entry.member_id
            if member_id is None:
                continue
            values: dict[str, Any] = {}
            if outcome.balance is not None:
                values["points_balance"] = outcome.balance
            if outcome.entry.kind == "enrol":
                values["status"] = "active"
            if values:
                conn.execute(update(MEMBERS).where(MEMBERS.c.id == member_id).values(**values))
            if outcome.server_user_id is not None:
                self._learn_server_id(conn, member_id, outcome.server_user_id)

    def _learn_server_id(self, conn: Connection, member_id: int, server_id: int) -> None:
        current = conn.execute(select(MEMBERS.c.server_id).where(MEMBERS.c.id == member_id)).scalar()
        if current == server_id:
            return
        if current is not None:
            log.warning("member %s is %s on the server but %s here; keeping ours", member_id, server_id, current)
            return
        holder = conn.execute(select(MEMBERS.c.id).where(MEMBERS.c.server_id == server_id)).scalar()
        if holder is not None:
            log.warning("server member %s is already linked to local member %s, not to %s", server_id, holder,
                        member_id)
            return
        conn.execute(update(MEMBERS).where(MEMBERS.c.id == member_id).values(server_id=server_id))

    def _apply_park(self, conn: Connection, outcome: Outcome, now: datetime) -> None:
        entry = outcome.entry
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == entry.id).values(
            status="parked", attempts=OUTBOX.c.attempts + 1, next_attempt_at=None, last_error=outcome.error,
            response={"progress": outcome.progress} if outcome.progress else {}))
        if entry.sale_id is not None:
            conn.execute(update(SALES).where(SALES.c.id == entry.sale_id).values(
                status="rejected", reject_reason=outcome.error))
            conn.execute(update(LEDGER).where(LEDGER.c.sale_id == entry.sale_id, LEDGER.c.status == "pending")
                         .values(status="rejected"))


# --- manager actions ---------------------------------------------------------------------------------------------
class EntryStateError(ValueError):
    """The entry is not in a state that allows the action (e.g. retrying one that was already delivered)."""


def retry_entry(engine: Engine, entry_id: int, staff_id: int | None, *, note: str = "") -> None:
    """Put a parked entry back in the queue (its sale and ledger rows become pending again); audited."""
    with engine.begin() as conn:
        row = conn.execute(select(OUTBOX).where(OUTBOX.c.id == entry_id)).first()
        if row is None:
            raise EntryStateError(f"there is no sync entry {entry_id}")
        if row.status != "parked":
            raise EntryStateError(f"only entries that need attention can be retried (this one is {row.status})")
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == entry_id).values(
            status="pending", next_attempt_at=None))
        if row.sale_id is not None:
            conn.execute(update(SALES).where(SALES.c.id == row.sale_id, SALES.c.status == "rejected").values(
                status="pending", reject_reason=None))
            conn.execute(update(LEDGER).where(LEDGER.c.sale_id == row.sale_id, LEDGER.c.status == "rejected")
                         .values(status="pending"))
        conn.execute(insert(AUDIT).values(
            occurred_at=utc_now(), staff_id=staff_id, action="sync.retry",
            details=_audit_details(conn, row, note)))


def discard_entry(engine: Engine, entry_id: int, staff_id: int | None, *, note: str = "") -> None:
    """Give up on a parked entry: it will never be sent; its sale stays rejected. Audited."""
    with engine.begin() as conn:
        row = conn.execute(select(OUTBOX).where(OUTBOX.c.id == entry_id)).first()
        if row is None:
            raise EntryStateError(f"there is no sync entry {entry_id}")
        if row.status != "parked":
            raise EntryStateError(f"only entries that need attention can be discarded (this one is {row.status})")
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == entry_id).values(status="discarded", next_attempt_at=None))
        conn.execute(insert(AUDIT).values(
            occurred_at=utc_now(), staff_id=staff_id, action="sync.discard",
            details=_audit_details(conn, row, note)))


def _audit_details(conn: Connection, row: Any, note: str) -> dict[str, Any]:
    details: dict[str, Any] = {"outbox_id": row.id, "kind": row.kind, "partition": row.partition_key,
                               "idempotency_key": row.idempotency_key, "attempts": row.attempts,
                               "last_error": row.last_error}
    if row.sale_id is not None:
        sale = conn.execute(select(SALES.c.receipt_no, SALES.c.outlet_code, SALES.c.total_minor,
                                   SALES.c.currency).where(SALES.c.id == row.sale_id)).first()
        if sale is not None:
            details.update(sale_id=row.sale_id, receipt_no=sale.receipt_no, outlet=sale.outlet_code,
                           total_minor=sale.total_minor, currency=sale.currency)
    if row.member_id is not None:
        details["member_id"] = row.member_id
    if note:
        details["note"] = note
    return details


# --- small helpers -------------------------------------------------------------------------------------------
def _clean(params: dict[str, Any]) -> dict[str, Any]:
    """Payload values as form fields: JSON floats become exact decimals (money is never sent as a float)."""
    cleaned: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, float):
            cleaned[key] = Decimal(repr(value))
        else:
            cleaned[key] = value
    return cleaned


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(Decimal(str(value)))
    except (ArithmeticError, ValueError):
        return None


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (ArithmeticError, ValueError):
        return None


def _mentions(error: ValidationError, field_name: str, words: str) -> bool:
    return any(words in message.lower() for message in error.messages(field_name))


def _balance_of(user: dict[str, Any]) -> int | None:
    points = user.get("points")
    if isinstance(points, list) and points and isinstance(points[0], dict):
        return _int(points[0].get("points"))
    return _int(user.get("point_balance"))


def _trim(answer: dict[str, Any]) -> dict[str, Any]:
    """What is worth keeping of an answer in the outbox row (not the member's whole profile)."""
    keep = ("status", "transaction_id", "points", "base_points", "additional_points", "point_balance",
            "total_deducted_points", "print", "voided_transaction_id", "shortfall", "user_id", "id",
            "resolved_duplicate", "already_voided", "external_member_id")
    trimmed = {key: answer[key] for key in keep if key in answer}
    transaction = answer.get("transaction")
    if isinstance(transaction, dict):
        trimmed["transaction"] = {k: transaction.get(k) for k in ("id", "transaction_no", "points", "amount",
                                                                   "user_id", "type") if k in transaction}
    return trimmed


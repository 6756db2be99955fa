"""One business day at the counter: every row of it and its totals, from one calculation.

`load_day(engine, scope, home)` reads the day in a handful of indexed queries (sales and reversals by time, then their
items, payments, redemptions, ledger shortfalls and outbox entries by sale id; enrolments and point adjustments by
time) and returns a `DayReport`: the rows the Day screen lists and `DayTotals`, which the screen, `frontdesk day
--json`, the CSV and the PDF all print. Nothing here knows about Qt or the network.

What the figures mean (the counter is not the till: WESS counts the cash; this is what the counter recorded):
- A day is the shop's calendar day (`Settings.timezone`), daylight saving included. Voids and refunds count on the
  day they were made; a sale of this day reversed on a later day shows "voided"/"refunded" here, and its money and
  points count on that later day.
- Gross = every sale recorded (kind 'sale'), whatever the loyalty server said: the customer paid at the till either
  way. Net = gross − voids − refunds made that day. Tax, service charge and discounts are the sales' own figures
  (discounts include rewards and vouchers keyed into WESS).
- By payment method: the sales' tenders ("points" is points used as money). By staff: the sales each person served,
  with the voids and refunds of those sales, so the staff nets add up to the day's net. By category: the lines'
  totals (net of line discounts, with tax and service charge, before bill-level rewards).
- Points count only effects the server has not refused (rejected or discarded effects issued nothing). "Issued" is
  the counter's figure; where the server answered with a different figure both are listed (`differences`).
- Sync health covers every effect of the day that has to reach the server: sales, voids, refunds, enrolments and
  point adjustments. A refund that changed no points has nothing to send ("local").
"""
from __future__ import annotations

import json
from collections import defaultdict, namedtuple
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Table, and_, func, literal_column, select
from sqlalchemy.engine import Connection

from frontdesk.domain.money import minor_exponent
from frontdesk.store.models import (
    AuditEntry,
    LedgerEntry,
    Member,
    OutboxEntry,
    PointAdjustment,
    Sale,
    SaleItem,
    SalePayment,
    SaleRedemption,
    Staff,
)

SALES = cast(Table, Sale.__table__)
ITEMS = cast(Table, SaleItem.__table__)
PAYMENTS = cast(Table, SalePayment.__table__)
REDEMPTIONS = cast(Table, SaleRedemption.__table__)
LEDGER = cast(Table, LedgerEntry.__table__)
OUTBOX = cast(Table, OutboxEntry.__table__)
MEMBERS = cast(Table, Member.__table__)
STAFF = cast(Table, Staff.__table__)
AUDIT = cast(Table, AuditEntry.__table__)
ADJUSTMENTS = cast(Table, PointAdjustment.__table__)

# Sync states of one effect, as the day shows them (issue 10 adds 'in_doubt' and 'contract_error' to the outbox).
SYNC_STATES = ("synced", "pending", "in_doubt", "rejected", "discarded", "local")
SYNC_WORDS = {"synced": "synced", "pending": "pending", "in_doubt": "in doubt", "rejected": "rejected",
              "discarded": "discarded", "local": "nothing to send"}
UNSETTLED = ("pending", "in_doubt", "rejected")  # states that keep a day from closing (unless explained)
PAYMENT_WORDS = {"cash": "Cash", "card": "Card", "nets": "NETS", "voucher": "Voucher", "points": "Points",
                 "stored_value": "Stored value"}
KIND_WORDS = {"sale": "Sale", "void": "Void", "refund": "Refund", "enrolment": "Enrolment",
              "adjustment": "Point adjustment"}


@dataclass(frozen=True)
class DayScope:
    """Which day, and which outlet and counter ("" = all of them)."""

    day: date
    outlet: str = ""
    counter: str = ""
    staff_id: int | None = None  # one person's shift: the sales they served and the reversals of those

    def label(self) -> str:
        where = " · ".join(part for part in (self.outlet and f"outlet {self.outlet}",
                                             self.counter and f"counter {self.counter}") if part)
        return f"{self.day.isoformat()}" + (f" · {where}" if where else " · all outlets and counters")


@dataclass(frozen=True)
class Home:
    """The counter this database belongs to: enrolments (which carry no outlet) are counted in its scopes."""

    outlet: str
    counter: str
    zone: ZoneInfo
    currency: str = "SGD"

    def covers(self, scope: DayScope) -> bool:
        return (not scope.outlet or scope.outlet == self.outlet) and (not scope.counter or scope.counter == self.counter)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time.min, zone).astimezone(timezone.utc)
    return start, end


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs ~3x as much, on 2,000 rows a day
class DayRow:
    """One line of the Day screen: a sale, void, refund, enrolment or point adjustment."""

    kind: str  # sale | void | refund | enrolment | adjustment
    key: str  # unique within the day: "sale:12", "enrol:40", "adjust:3"
    occurred_at: datetime  # UTC
    receipt_no: str
    member_id: int | None
    member_name: str
    staff_code: str
    staff_name: str
    total_minor: int  # signed: voids and refunds are negative
    points_earned: int  # sale: earned (counter's figure); reversal: given back; adjustment: added
    points_redeemed: int  # sale: redeemed; reversal: taken back; adjustment: removed
    server_points: int | None
    tender: str  # "Card 50.00 + Points 10.00"
    status: str  # pending | synced | in doubt | rejected | discarded | voided | refunded | nothing to send
    sync: str  # one of SYNC_STATES
    provisional: bool
    sale_id: int | None  # the sales row (sale, void or refund): for opening its receipt
    original_sale_id: int | None  # a void's or refund's sale
    outbox_id: int | None
    detail: str  # why rejected, what was refunded, the adjustment's reason
    currency: str = "SGD"
    explained: bool = False  # a manager gave a reason when discarding it

    def fingerprint(self) -> list[Any]:
        """What a closed day's snapshot remembers of the row, to tell later changes apart."""
        return [self.sync, self.status, self.total_minor, self.points_earned, self.points_redeemed,
                self.server_points]


@dataclass(frozen=True)
class Exception_:
    """Something about the day a manager should see (rejected, discarded, in doubt, points that differ)."""

    kind: str
    row_key: str
    text: str


@dataclass
class DayTotals:
    scope: DayScope
    currency: str
    zone: str
    sales_count: int = 0
    gross_minor: int = 0
    subtotal_minor: int = 0
    tax_minor: int = 0
    service_charge_minor: int = 0
    discount_minor: int = 0
    voids_count: int = 0
    voids_minor: int = 0
    refunds_count: int = 0
    refunds_minor: int = 0
    by_payment: dict[str, int] = field(default_factory=dict)  # method -> minor
    by_staff: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> figures
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)  # category -> quantity, amount_minor
    by_hour: dict[int, dict[str, int]] = field(default_factory=dict)  # local hour -> sales, gross, points
    points_issued: int = 0
    points_issued_server: int = 0  # the server's figure for the sales it answered
    points_issued_unconfirmed: int = 0  # the counter's figure for the sales the server has not answered yet
    points_redeemed: int = 0
    points_clawed_back: int = 0
    points_restored: int = 0
    points_shortfall: int = 0
    points_provisional: int = 0
    provisional_sales: int = 0
    points_adjusted_added: int = 0
    points_adjusted_removed: int = 0
    adjustments_count: int = 0
    point_differences: list[dict[str, Any]] = field(default_factory=list)
    rewards: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> count, points, amount_minor
    reward_codes: dict[str, dict[str, int]] = field(default_factory=dict)  # code -> count, points, amount_minor
    members_enrolled: int = 0
    sync: dict[str, int] = field(default_factory=lambda: {state: 0 for state in SYNC_STATES})
    oldest_unsynced: dict[str, Any] | None = None
    rejected_sales: int = 0
    rejected_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.voids_minor - self.refunds_minor

    @property
    def points_net(self) -> int:
        """The day's change to members' balances as the counter counts it."""
        return (self.points_issued - self.points_redeemed - self.points_clawed_back + self.points_shortfall
                + self.points_restored + self.points_adjusted_added - self.points_adjusted_removed)

    def money(self, minor: int) -> str:
        return plain_minor(minor, self.currency)

    def to_dict(self) -> dict[str, Any]:
        """Every figure, JSON-ready: money as plain decimal strings ("1234.50"), points as integers."""
        m = self.money
        return {
            "scope": {"date": self.scope.day.isoformat(), "outlet": self.scope.outlet or None,
                      "counter": self.scope.counter or None, "timezone": self.zone, "currency": self.currency},
            "sales": {"count": self.sales_count, "gross": m(self.gross_minor), "subtotal": m(self.subtotal_minor),
                      "tax": m(self.tax_minor), "service_charge": m(self.service_charge_minor),
                      "discounts": m(self.discount_minor),
                      "rejected": {"count": self.rejected_sales, "amount": m(self.rejected_minor)}},
            "voids": {"count": self.voids_count, "amount": m(self.voids_minor)},
            "refunds": {"count": self.refunds_count, "amount": m(self.refunds_minor)},
            "net": m(self.net_minor),
            "by_payment_method": {method: m(amount) for method, amount in sorted(self.by_payment.items())},
            "by_staff": {code: {"name": figures["name"], "sales": figures["sales"], "gross": m(figures["gross"]),
                                "reversed": m(figures["reversed"]), "net": m(figures["gross"] - figures["reversed"]),
                                "points_earned": figures["points"]}
                         for code, figures in sorted(self.by_staff.items())},
            "by_category": {name: {"quantity": figures["quantity"], "amount": m(figures["amount"])}
                            for name, figures in sorted(self.by_category.items())},
            "by_hour": {f"{hour:02d}": {"sales": figures["sales"], "gross": m(figures["gross"]),
                                        "points_earned": figures["points"], "points_redeemed": figures["redeemed"]}
                        for hour, figures in sorted(self.by_hour.items())},
            "points": {
                "issued": self.points_issued, "issued_server": self.points_issued_server,
                "issued_unconfirmed": self.points_issued_unconfirmed, "redeemed": self.points_redeemed,
                "reversed": {"clawed_back": self.points_clawed_back, "restored": self.points_restored,
                             "shortfall": self.points_shortfall},
                "provisional": {"points": self.points_provisional, "sales": self.provisional_sales},
                "adjusted": {"count": self.adjustments_count, "added": self.points_adjusted_added,
                             "removed": self.points_adjusted_removed},
                "net": self.points_net,
                "differences": list(self.point_differences),
            },
            "rewards": {kind: {"count": f["count"], "points": f["points"], "amount": m(f["amount"])}
                        for kind, f in sorted(self.rewards.items())},
            "reward_codes": {code: {"count": f["count"], "points": f["points"], "amount": m(f["amount"])}
                             for code, f in sorted(self.reward_codes.items())},
            "members_enrolled": self.members_enrolled,
            "sync": {**{state: self.sync.get(state, 0) for state in SYNC_STATES},
                     "oldest_unsynced": self.oldest_unsynced},
        }


@dataclass
class DayReport:
    scope: DayScope
    home: Home
    rows: list[DayRow]
    totals: DayTotals
    exceptions: list[Exception_]
    lines: list[tuple[Any, Any]]  # (item line, its sale) records of the day's sales, for the lines CSV

    def row(self, key: str) -> DayRow | None:
        return next((r for r in self.rows if r.key == key), None)


OUTBOX_STATES = {"done": "synced", "pending": "pending", "parked": "rejected", "contract_error": "rejected",
                 "discarded": "discarded"}


# --- reading the day ---------------------------------------------------------------------------------------------
def sync_state(outbox_status: str | None, sale_status: str | None) -> str:
    """One effect's state, from its outbox entry (when it has one) and its sale row."""
    if sale_status == "in_doubt" or outbox_status == "in_doubt":
        return "in_doubt"
    if outbox_status is None:
        if sale_status in ("synced", "rejected"):
            return sale_status
        return "local" if sale_status is not None else "pending"
    return OUTBOX_STATES.get(outbox_status, "pending")


@lru_cache(maxsize=64)
def _record_type(names: tuple[str, ...]) -> Any:
    return namedtuple("Record", names)


def _records(result: Any) -> list[Any]:
    """Result rows as named tuples: their attributes read ~15x faster than SQLAlchemy rows', which matters when a
    busy day's 2,000 sales are each read a few dozen times."""
    make = _record_type(tuple(result.keys()))._make
    return [make(row) for row in result.fetchall()]


@lru_cache(maxsize=16)
def _exponent(currency: str) -> int:
    return minor_exponent(currency)


def plain_minor(minor: int, currency: str) -> str:
    """`Money.from_minor(minor, currency).plain()`, without building a Money: "1234.50", "-0.05", "700" (JPY)."""
    exponent = _exponent(currency)
    if exponent == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, part = divmod(abs(minor), 10 ** exponent)
    return f"{sign}{whole}.{part:0{exponent}d}"


def _scoped(query: Any, table: Any, scope: DayScope) -> Any:
    if scope.outlet:
        query = query.where(table.c.outlet_code == scope.outlet)
    if scope.counter:
        query = query.where(table.c.counter_id == scope.counter)
    if scope.staff_id is not None:
        if table is SALES:
            original = SALES.alias("original")
            theirs = select(original.c.id).where(original.c.id == SALES.c.original_sale_id,
                                                 original.c.staff_id == scope.staff_id).exists()
            query = query.where((SALES.c.staff_id == scope.staff_id) | theirs)
        else:
            query = query.where(False)  # adjustments are a manager's, not part of anyone's shift
    return query


def load_day(source: Engine | Connection, scope: DayScope, home: Home) -> DayReport:
    """Read the day; `source` is an engine, or a connection already in a transaction (closing reads and writes in
    one)."""
    if isinstance(source, Engine):
        with source.connect() as conn:
            return _load(conn, scope, home)
    return _load(source, scope, home)


def _load(conn: Connection, scope: DayScope, home: Home) -> DayReport:
    start, end = day_bounds(scope.day, home.zone)
    zone = home.zone
    in_day = and_(SALES.c.occurred_at >= start, SALES.c.occurred_at < end)
    day_sales = _scoped(select(SALES.c.id).where(in_day), SALES, scope)
    sale_rows = _records(conn.execute(_scoped(select(
        SALES.c.id, SALES.c.kind, SALES.c.receipt_no, SALES.c.outlet_code, SALES.c.counter_id,
        SALES.c.staff_id, SALES.c.member_id, SALES.c.occurred_at, SALES.c.currency, SALES.c.subtotal_minor,
        SALES.c.tax_minor, SALES.c.service_charge_minor, SALES.c.discount_minor, SALES.c.total_minor,
        SALES.c.points_earned, SALES.c.points_redeemed, SALES.c.server_points, SALES.c.status,
        SALES.c.reject_reason, SALES.c.original_sale_id, SALES.c.provisional, SALES.c.note,
    ).where(in_day), SALES, scope).order_by(SALES.c.occurred_at, SALES.c.id)))
    sale_ids = day_sales.scalar_subquery()
    in_day_ids = {r.id for r in sale_rows}
    earlier = sorted({r.original_sale_id for r in sale_rows
                      if r.original_sale_id is not None and r.original_sale_id not in in_day_ids})
    originals = {r.id: r.staff_id for r in _records(conn.execute(
        select(SALES.c.id, SALES.c.staff_id).where(SALES.c.id.in_(earlier))))} if earlier else {}
    items = _records(conn.execute(select(ITEMS.c.sale_id, ITEMS.c.line_no, ITEMS.c.name, ITEMS.c.sku, ITEMS.c.category,
                                ITEMS.c.quantity, ITEMS.c.unit_price_minor, ITEMS.c.tax_minor,
                                ITEMS.c.service_charge_minor, ITEMS.c.discount_minor, ITEMS.c.total_minor,
                                ITEMS.c.staff_code, ITEMS.c.points)
                         .where(ITEMS.c.sale_id.in_(sale_ids)).order_by(ITEMS.c.sale_id, ITEMS.c.line_no)))
    payments = _records(conn.execute(select(PAYMENTS.c.sale_id, PAYMENTS.c.method, PAYMENTS.c.amount_minor)
                            .where(PAYMENTS.c.sale_id.in_(sale_ids)).order_by(PAYMENTS.c.id)))
    redemptions = _records(conn.execute(select(REDEMPTIONS.c.sale_id, REDEMPTIONS.c.kind, REDEMPTIONS.c.code,
                                      REDEMPTIONS.c.points, REDEMPTIONS.c.discount_minor,
                                      REDEMPTIONS.c.provisional)
                               .where(REDEMPTIONS.c.sale_id.in_(sale_ids))))
    shortfalls = _records(conn.execute(select(LEDGER.c.sale_id, func.sum(LEDGER.c.points).label("points"))
                              .where(LEDGER.c.sale_id.in_(sale_ids), LEDGER.c.kind == "shortfall")
                              .group_by(LEDGER.c.sale_id)))
    outbox = _records(conn.execute(select(OUTBOX.c.id, OUTBOX.c.sale_id, OUTBOX.c.status, OUTBOX.c.last_error)
                          .where(OUTBOX.c.sale_id.in_(sale_ids)).order_by(OUTBOX.c.id)))
    later_reversals = _records(conn.execute(select(SALES.c.original_sale_id, SALES.c.kind, SALES.c.total_minor,
                                          SALES.c.occurred_at)
                                   .where(SALES.c.original_sale_id.in_(sale_ids))))
    enrolments: list[Any] = []
    if home.covers(scope) and scope.staff_id is None:
        enrolments = _records(conn.execute(select(OUTBOX.c.id, OUTBOX.c.member_id, OUTBOX.c.status, OUTBOX.c.last_error,
                                         OUTBOX.c.created_at)
                                  .where(OUTBOX.c.kind == "enrol", OUTBOX.c.created_at >= start,
                                         OUTBOX.c.created_at < end).order_by(OUTBOX.c.id)))
    adjustments = _records(conn.execute(_scoped(select(
        ADJUSTMENTS.c.id, ADJUSTMENTS.c.member_id, ADJUSTMENTS.c.points, ADJUSTMENTS.c.reason,
        ADJUSTMENTS.c.note, ADJUSTMENTS.c.approved_by, ADJUSTMENTS.c.occurred_at, ADJUSTMENTS.c.outbox_id,
        OUTBOX.c.status, OUTBOX.c.last_error,
    ).select_from(ADJUSTMENTS.outerjoin(OUTBOX, OUTBOX.c.id == ADJUSTMENTS.c.outbox_id)).where(
        ADJUSTMENTS.c.occurred_at >= start, ADJUSTMENTS.c.occurred_at < end), ADJUSTMENTS, scope)
        .order_by(ADJUSTMENTS.c.occurred_at)))
    member_ids = {r.member_id for r in sale_rows if r.member_id} | {r.member_id for r in enrolments if r.member_id} \
        | {r.member_id for r in adjustments}
    members = _names(conn, member_ids)
    staff = {r.id: (r.code, r.name) for r in conn.execute(select(STAFF.c.id, STAFF.c.code, STAFF.c.name))}
    explained = _discard_reasons(conn, start)

    return _assemble(scope, home, zone, sale_rows, items, payments, redemptions, shortfalls, outbox, later_reversals,
                     enrolments, adjustments, members, staff, explained, originals)


def _names(conn: Any, member_ids: set[int]) -> dict[int, str]:
    """The members' names in one statement: the ids go as one JSON array bound to one parameter, which SQLite's
    json_each unpacks, rather than as a thousand literals SQLAlchemy renders into fresh SQL on every load."""
    if not member_ids:
        return {}
    ids: Any = select(literal_column("value")).select_from(func.json_each(json.dumps(sorted(member_ids))))
    return {row[0]: row[1] or f"{row[2]} {row[3]}".strip()
            for row in conn.execute(select(MEMBERS.c.id, MEMBERS.c.display_name, MEMBERS.c.first_name,
                                           MEMBERS.c.last_name).where(MEMBERS.c.id.in_(ids)))}


def _discard_reasons(conn: Any, since: datetime) -> dict[int, str]:
    """Outbox entry id -> the reason a manager gave when discarding it (or explaining it later)."""
    reasons: dict[int, str] = {}
    for details in conn.execute(select(AUDIT.c.details).where(
            AUDIT.c.action.in_(("sync.discard", "day.explain")), AUDIT.c.occurred_at >= since)).scalars():
        if isinstance(details, dict) and isinstance(details.get("outbox_id"), int):
            note = str(details.get("note") or details.get("reason") or "").strip()
            if note:
                reasons[details["outbox_id"]] = note
    return reasons


def _tender(payments: Iterable[Any], currency: str) -> str:
    parts = [f"{PAYMENT_WORDS.get(p.method, p.method)} {plain_minor(p.amount_minor, currency)}" for p in payments]
    return " + ".join(parts)


def _assemble(scope: DayScope, home: Home, zone: ZoneInfo, sale_rows: list[Any], items: list[Any],
              payments: list[Any], redemptions: list[Any], shortfalls: list[Any], outbox: list[Any],
              later_reversals: list[Any], enrolments: list[Any], adjustments: list[Any], members: dict[int, str],
              staff: dict[int, tuple[str, str]], explained: dict[int, str],
              earlier_originals: dict[int, int | None]) -> DayReport:
    currency = sale_rows[0].currency if sale_rows else home.currency
    totals = DayTotals(scope=scope, currency=currency, zone=str(zone.key))
    payments_by: dict[int, list[Any]] = defaultdict(list)
    for p in payments:
        payments_by[p.sale_id].append(p)
    redemptions_by: dict[int, list[Any]] = defaultdict(list)
    for r in redemptions:
        redemptions_by[r.sale_id].append(r)
    shortfall_by = {sale_id: int(points or 0) for sale_id, points in shortfalls}
    entry_by: dict[int, Any] = {}
    for entry in outbox:
        entry_by[entry.sale_id] = entry  # the newest entry of a sale wins (ordered by id)
    reversals_of: dict[int, list[Any]] = defaultdict(list)
    for rev in later_reversals:
        reversals_of[rev.original_sale_id].append(rev)
    sale_by_id = {r.id: r for r in sale_rows}
    # Whose sale a reversal reverses: the staff nets add up to the day's net.
    original_staff: dict[int, int | None] = {r.id: r.staff_id for r in sale_rows if r.kind == "sale"}
    original_staff.update(earlier_originals)
    rows: list[DayRow] = []
    exceptions: list[Exception_] = []
    lines: list[tuple[Any, Any]] = []
    oldest: tuple[datetime, DayRow] | None = None

    def count_sync(row: DayRow) -> None:
        nonlocal oldest
        totals.sync[row.sync] = totals.sync.get(row.sync, 0) + 1
        if row.sync in ("pending", "in_doubt", "rejected") and (oldest is None or row.occurred_at < oldest[0]):
            oldest = (row.occurred_at, row)

    def staff_bucket(staff_id: int | None) -> dict[str, Any]:
        code, name = staff.get(staff_id, ("", "(nobody)")) if staff_id is not None else ("", "(nobody)")
        key = code or "-"
        bucket = totals.by_staff.get(key)
        if bucket is None:
            bucket = totals.by_staff[key] = {"name": name, "sales": 0, "gross": 0, "reversed": 0, "points": 0}
        return bucket

    refused = ("rejected", "discarded")
    for s in sale_rows:
        entry = entry_by.get(s.id)
        state = sync_state(entry.status if entry else None, s.status)
        code, name = staff.get(s.staff_id, ("", "")) if s.staff_id is not None else ("", "")
        detail = ""
        if state in refused:
            detail = s.reject_reason or (entry.last_error if entry else "") or ""
            if entry is not None and entry.id in explained:
                detail = f"{detail} (manager: {explained[entry.id]})" if detail else f"manager: {explained[entry.id]}"
        status = SYNC_WORDS[state]
        local_hour = s.occurred_at.astimezone(zone).hour
        if s.kind == "sale":
            reversals = reversals_of.get(s.id, [])
            if any(r.kind == "void" for r in reversals):
                status = "voided"
            elif reversals:
                status = "refunded"
                refunded = sum(r.total_minor for r in reversals)
                detail = detail or f"refunded {plain_minor(refunded, s.currency)}"
            totals.sales_count += 1
            totals.gross_minor += s.total_minor
            totals.subtotal_minor += s.subtotal_minor
            totals.tax_minor += s.tax_minor
            totals.service_charge_minor += s.service_charge_minor
            totals.discount_minor += s.discount_minor
            for p in payments_by.get(s.id, []):
                totals.by_payment[p.method] = totals.by_payment.get(p.method, 0) + p.amount_minor
            bucket = staff_bucket(s.staff_id)
            bucket["sales"] += 1
            bucket["gross"] += s.total_minor
            hour = totals.by_hour.get(local_hour)
            if hour is None:
                hour = totals.by_hour[local_hour] = {"sales": 0, "gross": 0, "points": 0, "redeemed": 0}
            hour["sales"] += 1
            hour["gross"] += s.total_minor
            if state in refused:
                totals.rejected_sales += 1
                totals.rejected_minor += s.total_minor
            else:
                totals.points_issued += s.points_earned
                totals.points_redeemed += s.points_redeemed
                bucket["points"] += s.points_earned
                hour["points"] += s.points_earned
                hour["redeemed"] += s.points_redeemed
                if s.server_points is not None and state == "synced":
                    totals.points_issued_server += s.server_points
                    if s.server_points != s.points_earned:
                        totals.point_differences.append({"receipt_no": s.receipt_no, "counter": s.points_earned,
                                                         "server": s.server_points})
                        exceptions.append(Exception_("points", f"sale:{s.id}", (
                            f"Receipt {s.receipt_no}: the counter estimated {s.points_earned:,} pts, the server "
                            f"credited {s.server_points:,}")))
                else:
                    totals.points_issued_unconfirmed += s.points_earned
                if s.provisional:
                    totals.provisional_sales += 1
                for r in redemptions_by.get(s.id, []):
                    figures = totals.rewards.setdefault(r.kind, {"count": 0, "points": 0, "amount": 0})
                    figures["count"] += 1
                    figures["points"] += r.points
                    figures["amount"] += r.discount_minor
                    if r.code:
                        by_code = totals.reward_codes.setdefault(r.code, {"count": 0, "points": 0, "amount": 0})
                        by_code["count"] += 1
                        by_code["points"] += r.points
                        by_code["amount"] += r.discount_minor
                    if r.provisional or s.provisional:
                        totals.points_provisional += r.points
            total_minor = s.total_minor
        else:
            if s.kind == "void":
                totals.voids_count += 1
                totals.voids_minor += s.total_minor
            else:
                totals.refunds_count += 1
                totals.refunds_minor += s.total_minor
            staff_bucket(original_staff.get(s.original_sale_id) if s.original_sale_id else None)["reversed"] += \
                s.total_minor
            if state not in refused:
                totals.points_clawed_back += s.points_redeemed
                totals.points_restored += s.points_earned
                totals.points_shortfall += shortfall_by.get(s.id, 0)
            total_minor = -s.total_minor
            detail = detail or (s.note or "")
        row = DayRow(
            kind=s.kind, key=f"sale:{s.id}", occurred_at=s.occurred_at, receipt_no=s.receipt_no,
            member_id=s.member_id, member_name=members.get(s.member_id, "") if s.member_id else "",
            staff_code=code, staff_name=name, total_minor=total_minor, points_earned=s.points_earned,
            points_redeemed=s.points_redeemed, server_points=s.server_points,
            tender=_tender(payments_by.get(s.id, []), s.currency), status=status, sync=state,
            provisional=bool(s.provisional), sale_id=s.id, original_sale_id=s.original_sale_id,
            outbox_id=entry.id if entry else None, detail=detail, currency=s.currency,
            explained=entry is not None and entry.id in explained)
        rows.append(row)
        count_sync(row)
        if state in ("rejected", "discarded", "in_doubt"):
            exceptions.append(Exception_(state, row.key, (
                f"{KIND_WORDS[s.kind]} {s.receipt_no} ({plain_minor(s.total_minor, s.currency)}) "
                f"{SYNC_WORDS[state]}" + (f": {detail}" if detail else ""))))
    for item in items:
        sale = sale_by_id.get(item.sale_id)
        if sale is None:
            continue
        category = item.category or "(none)"
        in_category = totals.by_category.get(category)
        if in_category is None:
            in_category = totals.by_category[category] = {"quantity": 0, "amount": 0}
        in_category["quantity"] += item.quantity
        in_category["amount"] += item.total_minor
        lines.append((item, sale))

    for e in enrolments:
        state = sync_state(e.status, None)
        detail = e.last_error or "" if state in refused else ""
        row = DayRow(kind="enrolment", key=f"enrol:{e.id}", occurred_at=e.created_at, receipt_no="",
                     member_id=e.member_id, member_name=members.get(e.member_id, "") if e.member_id else "",
                     staff_code="", staff_name="", total_minor=0, points_earned=0, points_redeemed=0,
                     server_points=None, tender="", status=SYNC_WORDS[state], sync=state, provisional=False,
                     sale_id=None, original_sale_id=None, outbox_id=e.id, detail=detail, currency=currency,
                     explained=e.id in explained)
        totals.members_enrolled += 1
        rows.append(row)
        count_sync(row)
        if state in ("rejected", "discarded", "in_doubt"):
            exceptions.append(Exception_(state, row.key, f"Enrolment of {row.member_name} {SYNC_WORDS[state]}"
                                         + (f": {detail}" if detail else "")))

    for a in adjustments:
        state = sync_state(a.status, None) if a.outbox_id is not None else "local"
        code, name = staff.get(a.approved_by, ("", "")) if a.approved_by is not None else ("", "")
        detail = f"{a.reason}: {a.note}" if a.note else a.reason
        if state in refused and a.last_error:
            detail = f"{detail} — {a.last_error}"
        row = DayRow(kind="adjustment", key=f"adjust:{a.id}", occurred_at=a.occurred_at, receipt_no="",
                     member_id=a.member_id, member_name=members.get(a.member_id, ""), staff_code=code,
                     staff_name=name, total_minor=0, points_earned=max(0, a.points), points_redeemed=max(0, -a.points),
                     server_points=None, tender="", status=SYNC_WORDS[state], sync=state, provisional=False,
                     sale_id=None, original_sale_id=None, outbox_id=a.outbox_id, detail=detail, currency=currency,
                     explained=a.outbox_id in explained)
        totals.adjustments_count += 1
        if state not in refused:
            if a.points > 0:
                totals.points_adjusted_added += a.points
            else:
                totals.points_adjusted_removed += -a.points
        rows.append(row)
        count_sync(row)
        if state in ("rejected", "discarded", "in_doubt"):
            exceptions.append(Exception_(state, row.key, f"Point adjustment for {row.member_name} "
                                         f"({a.points:+,}) {SYNC_WORDS[state]}" + (f": {a.last_error}"
                                                                                  if a.last_error else "")))

    rows.sort(key=lambda r: (r.occurred_at, r.key))
    if oldest is not None:
        when, row = oldest
        totals.oldest_unsynced = {"at": when.astimezone(timezone.utc).isoformat(timespec="seconds"),
                                  "local_time": when.astimezone(zone).strftime("%H:%M"), "kind": row.kind,
                                  "receipt_no": row.receipt_no or None, "state": row.sync}
    return DayReport(scope=scope, home=home, rows=rows, totals=totals, exceptions=exceptions, lines=lines)

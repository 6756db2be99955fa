"""The counter's database: the member cache, the loyalty programme cache, sales and the sync outbox.

Everything a receptionist records lands here first; the outbox carries it to the central loyalty API later. Money
columns are integer minor units (`*_minor`) beside a currency; times are `UTCDateTime`. Schema changes go through
Alembic migrations in `migrations/`, never through `create_all` on a live file.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from frontdesk.store.types import JSONText, UTCDateTime, utc_now

# Named constraints, because SQLite batch migrations can only drop what has a name.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- members -------------------------------------------------------------------------------------------------
class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    member_no: Mapped[str | None] = mapped_column(String(64))  # the merchant's custom member ID
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # Folded (lower-case, accent-free) "first last", the text the name index (members_fts) is built from.
    search_name: Mapped[str] = mapped_column(String(200), default="")
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    phone_raw: Mapped[str | None] = mapped_column(String(40))  # what was typed or received, for the audit trail
    # Digits of the E.164 number reversed: "last 4 digits" becomes an indexed prefix match.
    phone_rev: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))  # stored lower-case
    tier_code: Mapped[str | None] = mapped_column(String(32))
    points_balance: Mapped[int] = mapped_column(Integer, default=0)
    lifetime_points: Mapped[int] = mapped_column(Integer, default=0)
    points_expiring: Mapped[int] = mapped_column(Integer, default=0)
    points_expiring_on: Mapped[date | None] = mapped_column(Date)
    stored_value_minor: Mapped[int] = mapped_column(Integer, default=0)
    # Rolling-window figures the tier rules are evaluated on, as last reported by the server (or computed locally).
    window_spend_minor: Mapped[int] = mapped_column(Integer, default=0)
    window_points: Mapped[int] = mapped_column(Integer, default=0)
    tier_expires_on: Mapped[date | None] = mapped_column(Date)
    visits_count: Mapped[int] = mapped_column(Integer, default=0)
    last_visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    birthday: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # active | pending (enrolled here, not yet confirmed by the server) | inactive | conflict (the server refused
    # this member's identity, e.g. a phone another member holds: takes no sales until a manager resolves it)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # A manager linked this member to another as a household (shared phone): its effects go to that member.
    household_member_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    server_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    codes: Mapped[list[MemberCode]] = relationship(back_populates="member", cascade="all, delete-orphan")

    __table_args__ = (
        # Covering: an exact phone lookup reads the list's columns from the index, not the member's row (0017).
        Index("ix_members_phone_e164", "phone_e164", "display_name", "email", "member_no", "tier_code",
              "points_balance"),
        Index("ix_members_phone_rev", "phone_rev"),
        Index("ix_members_email", "email"),
        Index("ix_members_member_no", text("member_no COLLATE NOCASE")),
    )


class MemberCode(Base):
    """Every scannable token that identifies a member: Eber QR payloads, our signed card tokens."""

    __tablename__ = "member_codes"

    code: Mapped[str] = mapped_column(String(255), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="qr")  # qr | card | eber
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    member: Mapped[Member] = relationship(back_populates="codes")


# --- programme cache -----------------------------------------------------------------------------------------
class ProgrammeVersion(Base):
    """The loyalty programme definition (earning rules, tiers, rewards) as last pulled or installed."""

    __tablename__ = "programme_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64))  # server etag or file hash
    source: Mapped[str] = mapped_column(String(32))  # server | file | demo
    definition: Mapped[Any] = mapped_column(JSONText)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Tier(Base):
    __tablename__ = "tiers"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int] = mapped_column(Integer, default=0)
    colour: Mapped[str] = mapped_column(String(16), default="#888888")


class Outlet(Base):
    __tablename__ = "outlets"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Singapore")


class MemberVoucher(Base):
    """A voucher or reward code already issued to a member (Eber `issued_reward`), usable at the counter."""

    __tablename__ = "member_vouchers"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(16))  # amount | percentage | sku
    amount_minor: Mapped[int] = mapped_column(Integer, default=0)
    percentage: Mapped[str | None] = mapped_column(String(16))  # decimal as text
    sku: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="available")  # available | used | expired


# --- staff ---------------------------------------------------------------------------------------------------
class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # WESS / POS staff id (custom_staff_id)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default="receptionist")  # receptionist | manager
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_pin_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- sales and the points ledger -----------------------------------------------------------------------------
class Sale(Base):
    """A counter transaction: a sale, or a void/refund linked to the sale it reverses."""

    __tablename__ = "sales"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="sale")  # sale | void | refund
    receipt_no: Mapped[str] = mapped_column(String(64))
    outlet_code: Mapped[str] = mapped_column(String(32))
    counter_id: Mapped[str] = mapped_column(String(32), default="")
    sales_mode: Mapped[str] = mapped_column(String(32), default="counter")  # counter | invoice_mail | ...
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3), default="SGD")
    subtotal_minor: Mapped[int] = mapped_column(Integer, default=0)
    tax_minor: Mapped[int] = mapped_column(Integer, default=0)
    service_charge_minor: Mapped[int] = mapped_column(Integer, default=0)
    discount_minor: Mapped[int] = mapped_column(Integer, default=0)
    total_minor: Mapped[int] = mapped_column(Integer, default=0)
    points_earned: Mapped[int] = mapped_column(Integer, default=0)  # local estimate until the server answers
    points_redeemed: Mapped[int] = mapped_column(Integer, default=0)
    server_points: Mapped[int | None] = mapped_column(Integer)  # what the server actually credited
    # The day close reads these:
    #   pending   queued, not yet known to the server
    #   in_doubt  sent, answer lost (or the sender died mid-request): the server may or may not hold it; sync
    #             resolves it by resending the same receipt number, never by guessing
    #   synced    the server applied it (server_transaction_id is NULL when it is applied but its id is unknown:
    #             "applied, id unknown"; a later void then uses the documented alternative, a point adjustment)
    #   rejected  the server refused this very request; reject_reason holds its words for the manager
    # A sale later voided/refunded keeps its status and gains a reversal row. A refused reward or voucher does not
    # reject the sale: see SaleRedemption.status.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    server_transaction_id: Mapped[str | None] = mapped_column(String(64))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    original_sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"))
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)  # redemption made offline, server decides
    # Set (by a trigger, migration 0012) when a void is written for this sale: its receipt may be recorded again.
    voided: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("0"))
    receipt_text: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    items: Mapped[list[SaleItem]] = relationship(back_populates="sale", cascade="all, delete-orphan",
                                                 order_by="SaleItem.line_no")
    payments: Mapped[list[SalePayment]] = relationship(back_populates="sale", cascade="all, delete-orphan")
    redemptions: Mapped[list[SaleRedemption]] = relationship(back_populates="sale", cascade="all, delete-orphan")

    __table_args__ = (
        # The WESS receipt number is the natural key of a sale at an outlet; reversals reuse it.
        Index("uq_sales_outlet_receipt_sale", "outlet_code", "receipt_no", unique=True,
              sqlite_where=text("kind = 'sale' AND voided = 0")),
        Index("ix_sales_occurred_at", "occurred_at"),
    )


class SaleItem(Base):
    __tablename__ = "sale_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(64), default="")
    category: Mapped[str] = mapped_column(String(64), default="")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price_minor: Mapped[int] = mapped_column(Integer, default=0)
    tax_minor: Mapped[int] = mapped_column(Integer, default=0)
    service_charge_minor: Mapped[int] = mapped_column(Integer, default=0)
    discount_minor: Mapped[int] = mapped_column(Integer, default=0)
    total_minor: Mapped[int] = mapped_column(Integer, default=0)
    staff_code: Mapped[str] = mapped_column(String(32), default="")
    points: Mapped[int] = mapped_column(Integer, default=0)
    explanation: Mapped[str] = mapped_column(Text, default="")

    sale: Mapped[Sale] = relationship(back_populates="items")


class SalePayment(Base):
    __tablename__ = "sale_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(32))  # cash | card | nets | voucher | points | stored_value
    amount_minor: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(100), default="")

    sale: Mapped[Sale] = relationship(back_populates="payments")


class SaleRedemption(Base):
    """A reward, voucher or points-as-money applied to a sale."""

    __tablename__ = "sale_redemptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # reward | voucher | points_money | stored_value
    code: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    points: Mapped[int] = mapped_column(Integer, default=0)
    discount_minor: Mapped[int] = mapped_column(Integer, default=0)
    free_sku: Mapped[str | None] = mapped_column(String(64))
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending (not yet sent) | applied (the server took it) | refused (the server refused it: the sale posted
    # without it and the manager settles the discount already given with the customer; server_note says why)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    server_note: Mapped[str] = mapped_column(Text, default="", server_default="")

    sale: Mapped[Sale] = relationship(back_populates="redemptions")


class LedgerEntry(Base):
    """One change of a member's points: earn, redeem, reversal, adjustment, expiry, shortfall."""

    __tablename__ = "points_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    points: Mapped[int] = mapped_column(Integer)  # signed
    reason: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    outlet_code: Mapped[str] = mapped_column(String(32), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | confirmed | rejected
    expires_on: Mapped[date | None] = mapped_column(Date)


# --- sync ----------------------------------------------------------------------------------------------------
class OutboxEntry(Base):
    """An effect waiting to reach the central API. Written in the same transaction as the change it carries."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # sale | void | refund | enrol | adjust | redeem
    # Entries sharing a partition are delivered strictly in order (one member's effects).
    partition_key: Mapped[str] = mapped_column(String(64))
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    payload: Mapped[Any] = mapped_column(JSONText)
    # The day close reads these:
    #   pending    waiting to be sent (or retried after a transient failure)
    #   in_doubt   sent, answer lost: resent with the same receipt number until the server's answer settles it
    #   done       delivered (response holds what the server said)
    #   parked     refused by the server, or a conflict: waits for a manager (last_error says why); holds only
    #              the effects that depend on it (its reversals, a member's effects behind a refused enrolment)
    #   discarded  a manager gave up on it (audited)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    response: Mapped[Any | None] = mapped_column(JSONText)  # the server's answer once delivered
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The drainer that claimed the row to send it. Only one drainer runs per database (sync.outbox's drain lock);
    # a claim left by another owner means that drainer died mid-request, so the row is in doubt.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_outbox_status_partition", "status", "partition_key", "id"),)


class SyncState(Base):
    """Small key/value facts of the sync engine: high-water marks, programme etag, last probe."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


class AuditEntry(Base):
    """Who did what that a manager may be asked about: voids, refunds, overrides, discarded sync entries."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[Any] = mapped_column(JSONText)


class InboundInvoice(Base):
    """A WESS invoice mail: where it came from, what was extracted, and what became of it."""

    __tablename__ = "inbound_invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # imap | folder
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    body_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    mailbox: Mapped[str] = mapped_column(String(255), default="")
    uidvalidity: Mapped[int | None] = mapped_column(Integer)
    uid: Mapped[int | None] = mapped_column(Integer)
    outlet_code: Mapped[str] = mapped_column(String(32), default="")
    receipt_no: Mapped[str] = mapped_column(String(64), default="")
    profile: Mapped[str] = mapped_column(String(64), default="")
    extracted: Mapped[Any | None] = mapped_column(JSONText)  # None when the mail could not be parsed
    status: Mapped[str] = mapped_column(String(16), default="review")  # queued | review | duplicate | conflict
    reason: Mapped[str] = mapped_column(Text, default="")
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # 0014 (invoice mail): what the review list, the receipts-waiting list and the reconciliation need.
    # status: received (being processed) | queued | matched | duplicate | review | discarded | reversed
    review_code: Mapped[str] = mapped_column(String(32), default="")  # why it stopped: parse | arithmetic | ...
    sender: Mapped[str] = mapped_column(String(255), default="")
    subject: Mapped[str] = mapped_column(String(255), default="")
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the receipt's own date and time
    currency: Mapped[str] = mapped_column(String(3), default="SGD")
    total_minor: Mapped[int | None] = mapped_column(Integer)
    customer_label: Mapped[str] = mapped_column(String(200), default="")
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    related_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_invoices.id"))  # dup/conflict of
    raw_mail: Mapped[bytes | None] = mapped_column(LargeBinary)  # the mail as received (capped; see invoices)
    raw_size: Mapped[int] = mapped_column(Integer, default=0)
    seen_count: Mapped[int] = mapped_column(Integer, default=1)  # identical copies received (resends)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("uidvalidity", "uid", "mailbox"),
                      Index("ix_inbound_invoices_outlet_code_receipt_no", "outlet_code", "receipt_no"),
                      Index("ix_inbound_invoices_status", "status"))


# --- search aids (0012) --------------------------------------------------------------------------------------
class PhoneFragment(Base):
    """A 5-digit window of a member's phone digits with what ranks it; kept by triggers on `members` (migrations
    0012, 0016). Keyed so that one gram's members come out suffix matches first, then by name."""

    __tablename__ = "phone_fragments"

    gram: Mapped[str] = mapped_column(String(5), primary_key=True)
    inside: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: the five digits end the number
    sort_name: Mapped[str] = mapped_column(String(200), primary_key=True)  # members.search_name
    member_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seen_day: Mapped[int | None] = mapped_column(Integer)  # whole Julian day of members.last_visit_at

    __table_args__ = {"sqlite_with_rowid": False}


class MemberVisit(Base):
    """Visits of a member at one outlet: counter sales (by trigger) and the server's visit history."""

    __tablename__ = "member_visits"

    member_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outlet_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    last_visit_at: Mapped[str] = mapped_column(Text)  # ISO-8601 UTC, the layout of UTCDateTime, so it sorts

    __table_args__ = {"sqlite_with_rowid": False}


# --- the manager's day (issue 13) ----------------------------------------------------------------------------
class DayClose(Base):
    """A Z close of one business day for one scope (outlet and counter; "" means all), with its frozen totals.

    One row per close. Reopening marks the row reopened (who, when, why) and keeps it: a later close adds a new
    row, so the history of closes and reopenings stays readable. At most one row per scope is `closed` at a time.
    """

    __tablename__ = "day_closes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date)
    outlet_code: Mapped[str] = mapped_column(String(32), default="")
    counter_id: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16), default="closed")  # closed | reopened
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    override_reason: Mapped[str | None] = mapped_column(Text)  # set when closed despite blockers
    blockers: Mapped[Any] = mapped_column(JSONText)  # what was open at close time (empty unless overridden)
    snapshot: Mapped[Any] = mapped_column(JSONText)  # the day's totals as closed (reports.day.DayTotals.to_dict)
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reopen_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("uq_day_closes_scope_closed", "business_date", "outlet_code", "counter_id", unique=True,
              sqlite_where=text("status = 'closed'")),
        Index("ix_day_closes_business_date", "business_date"),
    )


class PointAdjustment(Base):
    """A manager's goodwill or correction: points added or removed for a member, queued like any other effect."""

    __tablename__ = "point_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)  # signed: + added, − removed
    reason: Mapped[str] = mapped_column(String(32))  # goodwill | correction
    note: Mapped[str] = mapped_column(Text, default="")
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    outlet_code: Mapped[str] = mapped_column(String(32), default="")
    counter_id: Mapped[str] = mapped_column(String(32), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("points_ledger.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))


# The day's queries: sync health per day, each sale's outbox entry, and the reversals of a day's sales.
Index("ix_outbox_created_at", OutboxEntry.created_at)
Index("ix_outbox_sale_id", OutboxEntry.sale_id)
Index("ix_sales_original_sale_id", Sale.original_sale_id)


# --- invoice mail (issue 14) ---------------------------------------------------------------------------------
class InvoiceMailboxState(Base):
    """Where the invoice-mail reader stands in one IMAP folder. A different UIDVALIDITY means the server rebuilt the
    folder: its UIDs mean nothing any more, so the reader rescans it (dedup absorbs what it has seen)."""

    __tablename__ = "invoice_mailbox_state"

    account: Mapped[str] = mapped_column(String(255), primary_key=True)  # user@host:port
    folder: Mapped[str] = mapped_column(String(255), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(Integer)
    last_uid: Mapped[int] = mapped_column(Integer, default=0)
    rescans: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

"""A queued effect's wire requests, built from the counter database when it is sent (not frozen at confirm time).

The outbox payload says what happened in the counter's terms (this sale, the void of that sale, a refund taking
N points back); the form bodies are made here, just before sending, from the rows themselves. So once a member's
server id is known, every effect still queued for that member is sent with it (E1 `user_id`), never with a phone
that may since have become someone else's; and a household member's effects go to the member it is linked to.

Old counters queued payloads in the wire format (`{"endpoint": ..., "params": {...}}`, schema 0001/0002). Those are
still sent: their member identifier is replaced by the current one, the rest travels as it was frozen.

Reads only; called on the database executor with an open connection.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timezone
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from frontdesk.domain import phone as phones
from frontdesk.domain.money import Money
from frontdesk.store.models import Member, OutboxEntry, Sale, SaleItem, SalePayment, SaleRedemption, Staff

SALES = cast(Table, Sale.__table__)
ITEMS = cast(Table, SaleItem.__table__)
PAYMENTS = cast(Table, SalePayment.__table__)
REDEMPTIONS = cast(Table, SaleRedemption.__table__)
MEMBERS = cast(Table, Member.__table__)
STAFF = cast(Table, Staff.__table__)
OUTBOX = cast(Table, OutboxEntry.__table__)

IDENTIFIER_FIELDS = ("user_id", "phone", "phone_code", "email", "external_member_id")
LEGACY_ENDPOINTS = {
    "integration/issue_point": "issue_point",
    "integration/issue_points": "issue_point",
    "integration/redeem": "redeem",
    "integration/point_transaction/void": "void_transaction",
    "integration/used_issued_reward/void": "void_used_reward",
    "integration/user/create": "user_create",
    "point/adjust": "point_adjust",
}


class Held(Exception):
    """The effect cannot be sent yet: it depends on something not settled (its sale, the member's identity)."""


class Unsendable(Exception):
    """The effect can never be sent as it is; a manager must decide (the reason is shown)."""


@dataclass
class NaturalKey:
    """What a strict natural-key match compares: outlet, receipt, member (server id) and amount."""

    store: str
    receipt: str
    amount: Decimal | None
    user_id: int | None
    display_name: str = ""


@dataclass
class Plan:
    kind: str
    identifier: dict[str, Any] = field(default_factory=dict)
    issue: dict[str, Any] | None = None  # sale: E1 form
    redeems: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # sale: E2 per code, after E1
    void_transaction_id: str | None = None  # void: E4 target
    void_form: dict[str, Any] = field(default_factory=dict)
    adjust: dict[str, Any] | None = None  # refund, adjust, a void's compensation or fallback: E11
    reward_voids: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # void: E6 per code
    enrol: dict[str, Any] | None = None  # enrol: E7
    post: tuple[str, dict[str, Any]] | None = None  # a legacy entry of another kind
    key: NaturalKey | None = None
    ledger_entry_ids: tuple[int, ...] = ()
    codes: tuple[str, ...] = ()  # sale: the codes it redeems; void: the codes it gives back


def plain(minor: int, currency: str) -> str:
    return Money.from_minor(minor, currency).plain()


def member_identifier(member: Any, region: str) -> dict[str, Any]:
    """How the API finds the member: its server id when known, else the phone, else the email."""
    if member.server_id is not None:
        return {"user_id": int(member.server_id)}
    parsed = phones.normalise(member.phone_e164 or "", region) if member.phone_e164 else None
    if parsed is not None:
        return {"phone": parsed.national, "phone_code": parsed.region}
    if member.email:
        return {"email": member.email}
    if member.member_no:
        return {"external_member_id": member.member_no}
    raise Unsendable("the member has no server id, phone or email the loyalty server could know them by")


def _member(conn: Connection, member_id: int | None) -> Any:
    if member_id is None:
        raise Unsendable("the entry names no member")
    member = conn.execute(select(MEMBERS).where(MEMBERS.c.id == member_id)).first()
    if member is None:
        raise Unsendable(f"member {member_id} is not in this counter's records")
    if member.household_member_id:
        holder = conn.execute(select(MEMBERS).where(MEMBERS.c.id == member.household_member_id)).first()
        if holder is not None:
            member = holder
    if member.status == "conflict":
        raise Held("the loyalty server refused this member's identity; a manager must resolve it first")
    return member


def _replace_identifier(params: dict[str, Any], identifier: dict[str, Any]) -> dict[str, Any]:
    kept = {key: value for key, value in params.items() if key not in IDENTIFIER_FIELDS}
    return {**identifier, **kept}


def build_plan(conn: Connection, row: Any, region: str) -> Plan:
    """The requests for outbox row `row`. Raises `Held` (not yet) or `Unsendable` (a manager must look)."""
    payload = row.payload if isinstance(row.payload, dict) else None
    if payload is None:
        raise Unsendable("the entry's payload cannot be read")
    kind = row.kind
    if kind == "enrol":
        fields = dict(payload.get("params") or {})
        e164 = fields.pop("phone_e164", None)
        if e164:
            parsed = phones.normalise(str(e164), region)
            if parsed is None:
                raise Unsendable("the new phone number cannot be read")
            fields.update(phone=parsed.national, phone_code=parsed.region)
        return Plan(kind, enrol={k: v for k, v in fields.items() if v not in (None, "")})
    member = _member(conn, row.member_id)
    if member.server_id is None:
        enrolment = conn.execute(select(OUTBOX.c.id).where(
            OUTBOX.c.member_id == member.id, OUTBOX.c.kind == "enrol", OUTBOX.c.id < row.id,
            OUTBOX.c.status.in_(("pending", "in_doubt", "parked")))).first()
        if enrolment is not None:
            # Until the server has enrolled the member, a phone or email could find someone else.
            raise Held("waits for the member's enrolment to reach the server")
    identifier = member_identifier(member, region)
    if kind == "sale":
        return _sale_plan(conn, row, payload, member, identifier)
    if kind == "void":
        return _void_plan(conn, row, payload, member, identifier)
    if kind == "refund":
        return _refund_plan(conn, row, payload, identifier)
    if kind == "adjust":
        ids = tuple(int(i) for i in payload.get("ledger_entry_ids") or [] if isinstance(i, int))
        params: Any = payload.get("params")
        if isinstance(payload.get("points_change"), int) and payload["points_change"]:
            change = int(payload["points_change"])
            params = {"action": "add" if change > 0 else "deduct", "points": abs(change),
                      "note": str(payload.get("note") or "")}
        if not isinstance(params, dict):
            raise Unsendable("the adjustment has no points to send")
        form = _replace_identifier(params, identifier)
        form.setdefault("transaction_no", adjust_reference(row))
        return Plan(kind, identifier, adjust=form, ledger_entry_ids=ids)
    endpoint = payload.get("endpoint")
    legacy = payload.get("params")
    if isinstance(endpoint, str) and isinstance(legacy, dict):
        name = LEGACY_ENDPOINTS.get(endpoint, endpoint)
        return Plan(kind, identifier, post=(name, _replace_identifier(legacy, identifier)))
    raise Unsendable(f"unknown outbox entry kind “{kind}”")


def adjust_reference(row: Any) -> str:
    """The receipt-like reference an adjustment carries, so a lost answer can be looked for (E5) later."""
    return f"FD-{str(row.idempotency_key)[:24]}"


def _sale_row(conn: Connection, sale_id: int | None) -> Any:
    if sale_id is None:
        raise Unsendable("the entry names no sale")
    sale = conn.execute(select(SALES).where(SALES.c.id == sale_id)).first()
    if sale is None:
        raise Unsendable(f"sale {sale_id} is not in this counter's records")
    return sale


def _sale_plan(conn: Connection, row: Any, payload: dict[str, Any], member: Any,
               identifier: dict[str, Any]) -> Plan:
    sale = _sale_row(conn, row.sale_id)
    currency = sale.currency
    redemptions = conn.execute(select(REDEMPTIONS).where(REDEMPTIONS.c.sale_id == sale.id)
                               .order_by(REDEMPTIONS.c.id)).all()
    if isinstance(payload.get("params"), dict):  # frozen by an older counter
        form = _replace_identifier(dict(payload["params"]), identifier)
        codes = [str(code) for code in payload.get("redeem_codes") or []]
    else:
        staff = conn.execute(select(STAFF.c.code).where(STAFF.c.id == sale.staff_id)).scalar() \
            if sale.staff_id is not None else None
        items = [{"name": item.name, "sku": item.sku, "category": item.category, "quantity": item.quantity,
                  "unit_amount": plain(item.unit_price_minor, currency),
                  "total_amount": plain(item.unit_price_minor * item.quantity - item.discount_minor, currency)}
                 for item in conn.execute(select(ITEMS).where(ITEMS.c.sale_id == sale.id)
                                          .order_by(ITEMS.c.line_no))]
        payments = [{"name": payment.method, "amount": plain(payment.amount_minor, currency),
                     "description": payment.reference}
                    for payment in conn.execute(select(PAYMENTS).where(PAYMENTS.c.sale_id == sale.id)
                                                .order_by(PAYMENTS.c.id))]
        occurred = sale.occurred_at.astimezone(timezone.utc)
        form = {
            **identifier,
            "amount": plain(sale.total_minor, currency),
            "transaction_no": sale.receipt_no,
            "custom_store_id": sale.outlet_code,
            "custom_store_code": sale.outlet_code,
            "custom_staff_id": staff or "",
            "tax": plain(sale.tax_minor, currency),
            "service_charge": plain(sale.service_charge_minor, currency),
            "discount": plain(sale.discount_minor, currency),
            "utc_transaction_created_at": occurred.strftime("%Y-%m-%d %H:%M:%S"),
            "item_data_json": json.dumps(items, ensure_ascii=False, separators=(",", ":")),
            "payment_data_json": json.dumps(payments, ensure_ascii=False, separators=(",", ":")),
        }
        points_paid = sum(r.points for r in redemptions if r.kind == "points_money" and r.status != "refused")
        if points_paid:
            form["point_conversion_points"] = points_paid
        codes = [r.code for r in redemptions if r.kind in ("reward", "voucher") and r.code]
    if payload.get("without_points_payment"):
        form.pop("point_conversion_points", None)
    refused = {r.code for r in redemptions if r.status == "refused"}
    skipped = set(payload.get("without_codes") or []) | refused
    codes = [code for code in codes if code not in skipped]
    redeems = []
    for code in codes:
        redeems.append((code, {"redeem_code": code, "transaction_no": form.get("transaction_no"),
                               "amount": form.get("amount"), "custom_store_id": form.get("custom_store_id"),
                               "custom_staff_id": form.get("custom_staff_id"), **identifier}))
    key = NaturalKey(store=str(form.get("custom_store_code") or form.get("custom_store_id") or ""),
                     receipt=str(form.get("transaction_no") or ""),
                     amount=_decimal(form.get("amount")), user_id=identifier.get("user_id"),
                     display_name=str(member.display_name or ""))
    return Plan("sale", identifier, issue=form, redeems=redeems, key=key, codes=tuple(codes))


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return None


def _original(conn: Connection, row: Any, payload: dict[str, Any]) -> tuple[Any, Any]:
    """The reversal's own sale row and the original sale it reverses; held while the original is unsettled."""
    reversal = _sale_row(conn, row.sale_id) if row.sale_id is not None else None
    original_id = payload.get("original_sale_id")
    if not isinstance(original_id, int) and reversal is not None:
        original_id = reversal.original_sale_id
    if not isinstance(original_id, int):
        raise Unsendable("the reversal names no original sale")
    original = _sale_row(conn, original_id)
    entry = conn.execute(select(OUTBOX.c.status).where(OUTBOX.c.sale_id == original.id,
                                                       OUTBOX.c.kind == "sale")).scalar()
    if entry == "discarded" or (entry is None and original.status == "rejected"):
        raise Unsendable("the original sale never reached the server, so there is nothing to take back")
    if entry == "parked":
        raise Held(f"waits for its sale (receipt {original.receipt_no}), which needs a manager")
    if original.status != "synced" and entry != "done":
        raise Held(f"waits for the original sale (receipt {original.receipt_no}) to reach the server")
    return reversal, original


def _signed_change(payload: dict[str, Any]) -> int:
    if isinstance(payload.get("points_change"), int):
        return int(payload["points_change"])
    params = payload.get("params") or {}
    points = int(params.get("points") or 0)
    return -points if params.get("action") == "deduct" else points


def _applied_refund_changes(conn: Connection, original_id: int, before_sale_id: int | None) -> int:
    """The points the sale's delivered refunds changed on the server (a void must undo them as well)."""
    total = 0
    query = select(OUTBOX.c.payload, OUTBOX.c.sale_id).where(
        OUTBOX.c.kind == "refund", OUTBOX.c.status == "done",
        OUTBOX.c.sale_id.in_(select(SALES.c.id).where(SALES.c.original_sale_id == original_id)))
    for payload, sale_id in conn.execute(query):
        if before_sale_id is not None and sale_id is not None and sale_id > before_sale_id:
            continue
        if isinstance(payload, dict):
            total += _signed_change(payload)
    return total


def _void_plan(conn: Connection, row: Any, payload: dict[str, Any], member: Any,
               identifier: dict[str, Any]) -> Plan:
    reversal, original = _original(conn, row, payload)
    unsettled = conn.execute(select(OUTBOX.c.id).where(
        OUTBOX.c.kind == "refund", OUTBOX.c.id < row.id, OUTBOX.c.status.in_(("pending", "in_doubt", "parked")),
        OUTBOX.c.sale_id.in_(select(SALES.c.id).where(SALES.c.original_sale_id == original.id)))).first()
    if unsettled is not None:
        # The void undoes the sale's delivered refunds too, so it must know which were delivered.
        raise Held(f"waits for an earlier refund of receipt {original.receipt_no}")
    staff = conn.execute(select(STAFF.c.code).where(STAFF.c.id == reversal.staff_id)).scalar() \
        if reversal is not None and reversal.staff_id is not None else None
    form = {"transaction_no": original.receipt_no, "custom_store_id": original.outlet_code,
            "custom_staff_id": staff or ""}
    if "redeem_codes" in payload:
        codes = [str(code) for code in payload.get("redeem_codes") or []]
    else:
        codes = [r.code for r in conn.execute(select(REDEMPTIONS).where(
            REDEMPTIONS.c.sale_id == original.id, REDEMPTIONS.c.kind.in_(("reward", "voucher")),
            REDEMPTIONS.c.status != "refused")) if r.code]
    refunds = _applied_refund_changes(conn, original.id, row.sale_id)
    plan = Plan("void", identifier, void_form=form, codes=tuple(codes),
                reward_voids=[(code, {"redeem_code": code, "transaction_no": original.receipt_no})
                              for code in codes])
    if original.server_transaction_id:
        plan.void_transaction_id = str(original.server_transaction_id)
        compensation = -refunds
    else:
        # Applied, id unknown: the documented alternative to a void is a point adjustment of what it did.
        earned = original.server_points if original.server_points is not None else original.points_earned
        paid = sum(r.points for r in conn.execute(select(REDEMPTIONS).where(
            REDEMPTIONS.c.sale_id == original.id, REDEMPTIONS.c.kind == "points_money",
            REDEMPTIONS.c.status != "refused")))
        compensation = -earned + paid - refunds
    if compensation:
        plan.adjust = {**identifier, "action": "add" if compensation > 0 else "deduct", "points": abs(compensation),
                       "note": f"void of {original.receipt_no}", "transaction_no": adjust_reference(row)}
    return plan


def _refund_plan(conn: Connection, row: Any, payload: dict[str, Any], identifier: dict[str, Any]) -> Plan:
    _reversal, original = _original(conn, row, payload)
    change = _signed_change(payload)
    if not change:
        raise Unsendable("the refund changes no points")
    note = payload.get("note") or (payload.get("params") or {}).get("note") or f"refund of {original.receipt_no}"
    form = {**identifier, "action": "add" if change > 0 else "deduct", "points": abs(change), "note": note,
            "transaction_no": adjust_reference(row)}
    return Plan("refund", identifier, adjust=form)

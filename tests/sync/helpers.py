"""Counter-side fixtures: a demo counter database and outbox rows written the way the checkout writes them.

Each `queue_*` helper writes the sale (or member), its items, payments, ledger rows and the outbox entry in ONE
transaction, exactly as the checkout service does, so the worker is tested against realistic rows.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from frontdesk.demo.generator import build_demo_database
from frontdesk.domain import phone as phones
from frontdesk.domain.money import Money
from frontdesk.store.db import make_engine
from frontdesk.store.members import MemberFields, add_member
from frontdesk.store.models import (
    LedgerEntry,
    Member,
    OutboxEntry,
    Sale,
    SaleItem,
    SalePayment,
    SaleRedemption,
    Staff,
)

OUTLET = "TAMPINES"


def make_counter_db(path: Path, members: int = 300, seed: int = 7) -> Engine:
    build_demo_database(path, members=members, seed=seed, history_members=0)
    return make_engine(path)


@dataclass(frozen=True)
class Line:
    name: str
    sku: str
    category: str
    quantity: int
    unit_minor: int


DEFAULT_LINES = (Line("Ladies Cut & Blow", "SVC-CUT-L", "Hair", 1, 6800),)


def _identifier(member: Member, region: str = "SG") -> dict[str, str | int]:
    if member.server_id is not None:
        return {"user_id": member.server_id}
    parsed = phones.normalise(member.phone_e164 or "", region)
    if parsed is not None:
        return {"phone": parsed.national, "phone_code": parsed.region}
    return {"email": member.email or ""}


def queue_sale(engine: Engine, member_id: int, receipt_no: str, **options: object) -> tuple[int, int]:
    """A finished counter sale with its outbox entry, in one transaction; returns (sale id, outbox id)."""
    with Session(engine) as session, session.begin():
        return add_sale(session, member_id, receipt_no, **options)  # type: ignore[arg-type]


def queue_sales(engine: Engine, sales: list[tuple[int, str]]) -> list[tuple[int, int]]:
    """Many sales at once (member id, receipt no), in one transaction: for big queues in tests and benchmarks."""
    with Session(engine) as session, session.begin():
        return [add_sale(session, member_id, receipt_no) for member_id, receipt_no in sales]


def add_sale(session: Session, member_id: int, receipt_no: str, *, lines: tuple[Line, ...] = DEFAULT_LINES,
             tax_minor: int = 0, service_minor: int = 0, discount_minor: int = 0,
             redeem_codes: tuple[str, ...] = (), points_estimate: int | None = None,
             occurred_at: datetime | None = None, outlet: str = OUTLET, points_paid: int = 0,
             legacy: bool = False) -> tuple[int, int]:
    """`legacy`: the payload an older counter froze (wire format, schema 0001/0002), to test that it still goes."""
    occurred_at = occurred_at or datetime.now(timezone.utc)
    subtotal = sum(line.unit_minor * line.quantity for line in lines)
    total = subtotal + tax_minor + service_minor - discount_minor
    estimate = points_estimate if points_estimate is not None else subtotal // 100
    member = session.get(Member, member_id)
    assert member is not None
    staff = session.scalars(select(Staff).order_by(Staff.id)).first()
    sale = Sale(kind="sale", receipt_no=receipt_no, outlet_code=outlet, counter_id="C1",
                staff_id=staff.id if staff else None, member_id=member_id, occurred_at=occurred_at,
                currency="SGD", subtotal_minor=subtotal, tax_minor=tax_minor,
                service_charge_minor=service_minor, discount_minor=discount_minor, total_minor=total,
                points_earned=estimate, status="pending")
    for number, line in enumerate(lines, 1):
        sale.items.append(SaleItem(line_no=number, name=line.name, sku=line.sku, category=line.category,
                                   quantity=line.quantity, unit_price_minor=line.unit_minor,
                                   total_minor=line.unit_minor * line.quantity))
    sale.payments.append(SalePayment(method="card", amount_minor=total, reference=""))
    for code in redeem_codes:
        sale.redemptions.append(SaleRedemption(kind="reward" if not code.startswith("V") else "voucher", code=code,
                                               description=code))
    if points_paid:
        sale.redemptions.append(SaleRedemption(kind="points_money", code="", description="points",
                                               points=points_paid, discount_minor=points_paid))
    session.add(sale)
    session.flush()
    session.add(LedgerEntry(member_id=member_id, sale_id=sale.id, kind="earn", points=estimate,
                            reason=f"purchase {receipt_no}", outlet_code=outlet, occurred_at=occurred_at,
                            status="pending"))
    params = {
        **_identifier(member),
        "amount": Money.from_minor(total).plain(),
        "transaction_no": receipt_no,
        "custom_store_id": outlet,
        "custom_store_code": outlet,
        "custom_staff_id": staff.code if staff else "",
        "tax": Money.from_minor(tax_minor).plain(),
        "service_charge": Money.from_minor(service_minor).plain(),
        "discount": Money.from_minor(discount_minor).plain(),
        "utc_transaction_created_at": occurred_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "item_data_json": json.dumps([
            {"name": line.name, "sku": line.sku, "category": line.category, "quantity": line.quantity,
             "unit_amount": Money.from_minor(line.unit_minor).plain(),
             "total_amount": Money.from_minor(line.unit_minor * line.quantity).plain()}
            for line in lines], separators=(",", ":")),
        "payment_data_json": json.dumps([{"name": "VISA", "amount": Money.from_minor(total).plain(),
                                          "description": ""}], separators=(",", ":")),
    }
    payload: dict[str, object] = {"v": 2, "sale_id": sale.id}
    if legacy:
        payload = {"endpoint": "integration/issue_point", "params": params, "redeem_codes": list(redeem_codes)}
    entry = OutboxEntry(idempotency_key=uuid.uuid4().hex, kind="sale", partition_key=f"member:{member_id}",
                        sale_id=sale.id, member_id=member_id, response={}, payload=payload)
    session.add(entry)
    session.flush()
    return sale.id, entry.id


def queue_void(engine: Engine, original_sale_id: int, *, redeem_codes: tuple[str, ...] = ()) -> tuple[int, int]:
    with Session(engine) as session, session.begin():
        original = session.get(Sale, original_sale_id)
        assert original is not None and original.member_id is not None
        now = datetime.now(timezone.utc)
        void = Sale(kind="void", receipt_no=original.receipt_no, outlet_code=original.outlet_code,
                    counter_id=original.counter_id, staff_id=original.staff_id, member_id=original.member_id,
                    occurred_at=now, currency=original.currency, total_minor=-original.total_minor,
                    points_earned=-original.points_earned, original_sale_id=original.id, status="pending")
        session.add(void)
        session.flush()
        session.add(LedgerEntry(member_id=original.member_id, sale_id=void.id, kind="reversal",
                                points=-original.points_earned, reason=f"void {original.receipt_no}",
                                outlet_code=original.outlet_code, occurred_at=now, status="pending"))
        entry = OutboxEntry(idempotency_key=uuid.uuid4().hex, kind="void",
                            partition_key=f"member:{original.member_id}", sale_id=void.id,
                            member_id=original.member_id, response={},
                            payload={"v": 2, "original_sale_id": original.id,
                                     "redeem_codes": list(redeem_codes)})
        session.add(entry)
        session.flush()
        return void.id, entry.id


def queue_adjust(engine: Engine, member_id: int, points: int, note: str = "goodwill") -> int:
    with Session(engine) as session, session.begin():
        member = session.get(Member, member_id)
        assert member is not None
        ledger = LedgerEntry(member_id=member_id, kind="adjustment", points=points, reason=note,
                             outlet_code=OUTLET, status="pending")
        session.add(ledger)
        session.flush()
        entry = OutboxEntry(idempotency_key=uuid.uuid4().hex, kind="adjust", partition_key=f"member:{member_id}",
                            member_id=member_id, response={},
                            payload={"v": 2, "ledger_entry_ids": [ledger.id], "points_change": points,
                                     "note": note})
        session.add(entry)
        session.flush()
        return entry.id


def enrol_member(engine: Engine, first: str, last: str, phone: str, email: str | None = None,
                 external_id: str | None = None) -> tuple[int, int]:
    """A walk-in enrolled at the counter: a pending member plus its enrol entry; returns (member id, outbox id)."""
    with Session(engine) as session, session.begin():
        member = add_member(session, MemberFields(first_name=first, last_name=last, phone_raw=phone, email=email,
                                                  status="pending"), "SG")
        parsed = phones.normalise(phone, "SG")
        assert parsed is not None
        external = external_id or f"FD-{uuid.uuid4().hex[:10]}-{member.id}"  # unique on a shared server
        member.member_no = external
        entry = OutboxEntry(idempotency_key=uuid.uuid4().hex, kind="enrol", partition_key=f"member:{member.id}",
                            member_id=member.id, response={},
                            payload={"endpoint": "integration/user/create", "local_member_id": member.id,
                                     "params": {"phone": parsed.national, "phone_code": parsed.region,
                                                "email": email, "first_name": first, "last_name": last,
                                                "external_member_id": external}})
        session.add(entry)
        session.flush()
        return member.id, entry.id


def member_ids(engine: Engine, count: int) -> list[int]:
    with Session(engine) as session:
        return list(session.scalars(select(Member.id).order_by(Member.id).limit(count)))


def outbox_statuses(engine: Engine) -> dict[str, int]:
    from sqlalchemy import func

    with Session(engine) as session:
        rows = session.execute(select(OutboxEntry.status, func.count()).group_by(OutboxEntry.status)).all()
    return {status: count for status, count in rows}



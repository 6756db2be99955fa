"""Shared phone: a child enrolled on a parent's phone is refused by the server. Nothing is ever credited to the
parent by accident; the child takes no sales until a manager resolves it (another phone, or a household)."""
from __future__ import annotations

import random
import uuid

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from frontdesk.domain import phone as phones
from frontdesk.sales.outcomes import IdentityError, resolve_identity
from frontdesk.store.models import AuditEntry, Member, OutboxEntry, Sale
from sync.pull import Puller
from tests.sync.conftest import RunningServer, drain_until_empty, fast_worker
from tests.sync.helpers import enrol_member, queue_sale


def parent_and_child(server: RunningServer, counter: Engine, parent_id: int) -> tuple[int, int, int, int]:
    with Session(counter) as session:
        parent = session.get(Member, parent_id)
        assert parent is not None and parent.phone_e164 and parent.server_id
        parsed = phones.normalise(parent.phone_e164, "SG")
        assert parsed is not None
        parent_server = parent.server_id
    child_id, enrol_entry = enrol_member(counter, "Kid", "Lim", parsed.national)
    _, sale_entry = queue_sale(counter, child_id, f"K-{uuid.uuid4().hex[:10]}")
    return child_id, enrol_entry, sale_entry, parent_server


def points(server: RunningServer, server_id: int) -> int:
    return int(server.client().user_show(user_id=server_id)["points"][0]["points"])


def status(counter: Engine, entry_id: int) -> str:
    with Session(counter) as session:
        return session.get(OutboxEntry, entry_id).status  # type: ignore[union-attr]


def test_a_refused_identity_holds_its_effects_and_a_new_phone_resolves_it(server: RunningServer,
                                                                          counter: Engine) -> None:
    child_id, enrol_entry, sale_entry, parent_server = parent_and_child(server, counter, 150)
    before = points(server, parent_server)
    worker = fast_worker(counter, server.client())
    worker.run_once()
    assert status(counter, enrol_entry) == "parked" and status(counter, sale_entry) == "pending"
    with Session(counter) as session:
        child = session.get(Member, child_id)
        assert child is not None and child.status == "conflict" and child.server_id is None
    assert points(server, parent_server) == before  # not credited to the parent
    # The child's panel never shows the parent's points.
    assert not Puller(counter, server.client()).refresh_member(child_id).found
    with pytest.raises(IdentityError):
        with counter.begin() as conn:
            resolve_identity(conn, child_id, "reenrol", staff_id=3)  # needs another phone or email
    with pytest.raises(IdentityError):
        with counter.begin() as conn:
            resolve_identity(conn, child_id, "reenrol", staff_id=3, phone_e164="+65 12")
    rng = random.Random()
    own_phone = ""
    while not own_phone:
        candidate = phones.normalise(f"9{rng.randrange(1_000_000, 9_999_999)}", "SG")
        own_phone = candidate.e164 if candidate is not None else ""
    with counter.begin() as conn:
        resolve_identity(conn, child_id, "reenrol", staff_id=3, phone_e164=own_phone, note="her own mobile")
    drain_until_empty(worker)
    worker.close()
    with Session(counter) as session:
        child = session.get(Member, child_id)
        assert child is not None and child.status == "active" and child.server_id not in (None, parent_server)
        sale = session.scalars(select(Sale).where(Sale.member_id == child_id)).one()
        assert sale.status == "synced"
        child_server = child.server_id
        assert session.scalars(select(AuditEntry.action)).all() == ["sync.identity"]
    credited = [t for t in server.transactions() if t["transaction_no"] == sale.receipt_no]
    assert [t["user_id"] for t in credited] == [child_server]
    assert points(server, parent_server) == before


def test_a_household_link_credits_the_parent_by_a_managers_decision(server: RunningServer,
                                                                    counter: Engine) -> None:
    child_id, enrol_entry, sale_entry, parent_server = parent_and_child(server, counter, 151)
    worker = fast_worker(counter, server.client())
    worker.run_once()
    assert status(counter, sale_entry) == "pending"
    with counter.begin() as conn:
        resolve_identity(conn, child_id, "household", staff_id=3, other_member_id=151)
    drain_until_empty(worker)
    worker.close()
    assert status(counter, enrol_entry) == "discarded" and status(counter, sale_entry) == "done"
    with Session(counter) as session:
        receipt = session.scalars(select(Sale.receipt_no).where(Sale.member_id == child_id)).one()
        child = session.get(Member, child_id)
        assert child is not None and child.household_member_id == 151 and child.server_id is None
    assert [t["user_id"] for t in server.transactions() if t["transaction_no"] == receipt] == [parent_server]


def test_a_merge_moves_the_refused_members_sales_to_the_same_person(server: RunningServer,
                                                                     counter: Engine) -> None:
    child_id, enrol_entry, sale_entry, parent_server = parent_and_child(server, counter, 153)
    worker = fast_worker(counter, server.client())
    worker.run_once()
    with counter.begin() as conn:
        resolve_identity(conn, child_id, "merge", staff_id=3, other_member_id=153, note="same person, typo")
    drain_until_empty(worker)
    worker.close()
    with Session(counter) as session:
        sale = session.scalars(select(Sale).where(Sale.receipt_no.like("K-%"), Sale.member_id == 153)).one()
        assert sale.status == "synced"
        assert session.get(Member, child_id).status == "inactive"  # type: ignore[union-attr]
    assert status(counter, enrol_entry) == "discarded" and status(counter, sale_entry) == "done"
    assert [t["user_id"] for t in server.transactions() if t["transaction_no"] == sale.receipt_no] == [parent_server]

"""The outbox worker against the real reference server: delivery, order, exactly-once, parking, manager actions."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from frontdesk.store.members import unsynced_points
from frontdesk.store.models import (
    AuditEntry,
    LedgerEntry,
    Member,
    MemberVoucher,
    OutboxEntry,
    Sale,
    SaleRedemption,
)
from sync.client import ApiConfig, LoyaltyClient
from sync.outbox import EntryStateError, RetryPolicy, discard_entry, retry_entry
from tests.sync.conftest import RunningServer, drain_until_empty, fast_worker
from tests.sync.helpers import (
    Line,
    enrol_member,
    member_ids,
    outbox_statuses,
    queue_adjust,
    queue_sale,
    queue_void,
)


def receipt() -> str:
    return f"S-{uuid.uuid4().hex[:12]}"


def entry(engine: Engine, entry_id: int) -> OutboxEntry:
    with Session(engine) as session:
        row = session.get(OutboxEntry, entry_id)
        assert row is not None
        session.expunge(row)
        return row


def sale(engine: Engine, sale_id: int) -> Sale:
    with Session(engine) as session:
        row = session.get(Sale, sale_id)
        assert row is not None
        session.expunge(row)
        return row


def ledger_statuses(engine: Engine, sale_id: int) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(LedgerEntry.status).where(LedgerEntry.sale_id == sale_id)))


def test_a_sale_is_delivered_and_the_server_balance_wins(server: RunningServer, counter: Engine) -> None:
    member_id = member_ids(counter, 260)[250]  # a member no other test buys for (daily cap, visit bonus)
    sale_id, entry_id = queue_sale(counter, member_id, receipt(), points_estimate=999)
    with Session(counter) as session:
        assert unsynced_points(session, member_id) == 999
    report = fast_worker(counter, server.client()).run_once()
    assert report.delivered == 1 and report.by_kind["sale"] == 1
    done = entry(counter, entry_id)
    assert done.status == "done" and done.attempts == 1 and done.delivered_at is not None
    synced = sale(counter, sale_id)
    assert synced.status == "synced" and synced.server_transaction_id == str(done.response["transaction_id"])
    assert synced.server_points == done.response["points"] >= 68 + 20  # S$68 at 1 pt/S$1 (tier ×) + visit bonus
    assert ledger_statuses(counter, sale_id) == ["confirmed"]
    with Session(counter) as session:
        member = session.get(Member, member_id)
        assert member is not None and member.points_balance == done.response["point_balance"]
        assert unsynced_points(session, member_id) == 0
    server_user = server.client().user_show(user_id=member.server_id)
    assert server_user["points"][0]["points"] == member.points_balance


def test_order_is_kept_within_each_member(server: RunningServer, counter: Engine) -> None:
    members = member_ids(counter, 8)
    queued: dict[int, list[str]] = {m: [] for m in members}
    rng = random.Random(3)
    for _ in range(60):
        member_id = rng.choice(members)
        number = receipt()
        queue_sale(counter, member_id, number)
        queued[member_id].append(number)
    fast_worker(counter, server.client(), threads=4, run_length=3).run_once()
    assert outbox_statuses(counter) == {"done": 60}
    numbers = {n for ns in queued.values() for n in ns}
    delivered = [t for t in server.transactions() if t["transaction_no"] in numbers]
    for member_id, expected in queued.items():
        server_id = 100000 + member_id - 1
        assert [t["transaction_no"] for t in delivered if t["user_id"] == server_id] == expected


def test_void_follows_its_sale_and_restores_a_voucher(server: RunningServer, counter: Engine) -> None:
    member_id = 6  # server member 100005 holds voucher V100005
    with Session(counter) as session, session.begin():
        session.add(MemberVoucher(code="V100005", member_id=member_id, name="S$5", method="amount", amount_minor=500))
    number = receipt()
    sale_id, _ = queue_sale(counter, member_id, number, discount_minor=500, redeem_codes=("V100005",))
    void_id, void_entry = queue_void(counter, sale_id, redeem_codes=("V100005",))
    client = server.client()
    before = client.user_show(user_id=100005)["points"][0]["points"]
    report = fast_worker(counter, client).run_once()
    assert report.delivered == 2
    assert sale(counter, void_id).status == "synced"
    assert sale(counter, void_id).server_transaction_id is not None
    rows = [t for t in server.transactions() if t["transaction_no"] == number]
    assert [(r["type"], r["voided"]) for r in rows] == [("purchase", True), ("void", False)]
    after = client.user_show(user_id=100005, list_redeemable=True)
    assert after["points"][0]["points"] == before
    assert "V100005" in [item["redeem_code"] for item in after["redeemable_list"]]
    with Session(counter) as session:
        voucher = session.get(MemberVoucher, "V100005")
        assert voucher is not None and voucher.status == "available"
        assert session.get(Member, member_id).points_balance == before  # type: ignore[union-attr]


def test_enrolment_then_sale_for_a_walk_in(server: RunningServer, counter: Engine) -> None:
    phone = f"8{random.Random().randrange(1_000_000, 9_999_999)}"
    member_id, enrol_entry = enrol_member(counter, "Nadia", "Tan", phone, f"nadia.{phone}@example.com")
    with Session(counter) as session:
        # Before the server has heard of her, the checkout identifies her by phone.
        assert session.get(Member, member_id).server_id is None  # type: ignore[union-attr]
    number = receipt()
    queue_sale(counter, member_id, number)
    report = fast_worker(counter, server.client()).run_once()
    assert report.delivered == 2 and report.by_kind == {"enrol": 1, "sale": 1}
    with Session(counter) as session:
        member = session.get(Member, member_id)
        assert member is not None and member.status == "active" and member.server_id is not None
    rows = [t for t in server.transactions() if t["transaction_no"] == number]
    assert rows[0]["user_id"] == member.server_id


def test_enrolment_already_on_the_server_is_linked_not_duplicated(server: RunningServer, counter: Engine) -> None:
    phone = f"8{random.Random().randrange(1_000_000, 9_999_999)}"
    external = f"FD-{uuid.uuid4().hex[:6]}"
    existing = server.client().create_user({"first_name": "Ken", "last_name": "Ho", "phone": phone,
                                            "phone_code": "SG", "external_member_id": external})
    member_id, entry_id = enrol_member(counter, "Ken", "Ho", phone, external_id=external)
    fast_worker(counter, server.client()).run_once()
    assert entry(counter, entry_id).status == "done"
    with Session(counter) as session:
        assert session.get(Member, member_id).server_id == existing["id"]  # type: ignore[union-attr]


def test_enrolment_clashing_with_someone_else_is_parked(server: RunningServer, counter: Engine) -> None:
    taken_phone = server.client().user_show(user_id=100090)["phone"]
    member_id, entry_id = enrol_member(counter, "Other", "Person", taken_phone)
    fast_worker(counter, server.client()).run_once()
    parked = entry(counter, entry_id)
    assert parked.status == "parked" and "phone" in (parked.last_error or "")


def test_adjustment_confirms_its_ledger_row(server: RunningServer, counter: Engine) -> None:
    entry_id = queue_adjust(counter, 12, 150)
    fast_worker(counter, server.client()).run_once()
    done = entry(counter, entry_id)
    assert done.status == "done"
    ledger_id = done.payload["ledger_entry_ids"][0]
    with Session(counter) as session:
        assert session.get(LedgerEntry, ledger_id).status == "confirmed"  # type: ignore[union-attr]


def test_an_adjustment_whose_lookup_never_answers_in_a_known_shape_goes_to_a_manager(server: RunningServer,
                                                                                    counter: Engine) -> None:
    """E11 has no natural key: with its answer lost and a listing that only ever answers oddly, nobody can tell
    whether it was applied, so after a bounded number of attempts a manager decides (it is never sent again blind)."""
    entry_id = queue_adjust(counter, 12, 40, note="hollow everywhere")
    server.faults(hollow_rate=1.0)  # every answer a 2xx without the success shape, nothing applied
    try:
        drain_until_empty(fast_worker(counter, server.client(), odd_listing_attempts=3), timeout=30)
    finally:
        server.faults()
    parked = entry(counter, entry_id)
    assert parked.status == "parked"
    assert "Mark applied or Send again" in (parked.last_error or "")
    assert parked.attempts >= 3
    assert not [t for t in server.transactions() if t["type"] == "adjust" and t["note"] == "hollow everywhere"]


def test_permanent_failure_parks_rejects_and_holds_only_what_depends_on_it(server: RunningServer,
                                                                          counter: Engine) -> None:
    member_id = 20
    bad_sale, bad_entry = queue_sale(counter, member_id, receipt(),
                                     lines=(Line("Broken", "X", "Hair", 0, 1000),))  # quantity 0: invalid
    _, bad_void_entry = queue_void(counter, bad_sale)  # depends on the refused sale
    later_sale, later_entry = queue_sale(counter, member_id, receipt())  # does not
    other_sale, other_entry = queue_sale(counter, 21, receipt())
    report = fast_worker(counter, server.client()).run_once()
    assert report.parked == 1 and report.delivered == 2
    parked = entry(counter, bad_entry)
    assert parked.status == "parked" and "item_data_json" in (parked.last_error or "")
    rejected = sale(counter, bad_sale)
    assert rejected.status == "rejected" and rejected.reject_reason == parked.last_error
    assert ledger_statuses(counter, bad_sale) == ["rejected"]
    assert entry(counter, bad_void_entry).status == "pending"  # held: it depends on the parked sale
    assert entry(counter, later_entry).status == "done"  # the member's independent sale is not held up
    assert entry(counter, other_entry).status == "done"  # nor is another member

    with pytest.raises(EntryStateError):
        retry_entry(counter, later_entry, staff_id=3)
    retry_entry(counter, bad_entry, staff_id=3, note="checked with the customer")
    assert sale(counter, bad_sale).status == "pending" and ledger_statuses(counter, bad_sale) == ["pending"]
    fast_worker(counter, server.client()).run_once()
    assert entry(counter, bad_entry).status == "parked"  # still invalid
    discard_entry(counter, bad_entry, staff_id=3, note="duplicate of a WESS correction")
    fast_worker(counter, server.client()).run_once()
    assert entry(counter, bad_entry).status == "discarded"
    assert sale(counter, bad_sale).status == "rejected"
    voided = entry(counter, bad_void_entry)  # its sale will never reach the server: nothing to void
    assert voided.status == "parked" and "never reached the server" in (voided.last_error or "")
    with Session(counter) as session:
        audit = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(a.action, a.staff_id) for a in audit] == [("sync.retry", 3), ("sync.discard", 3)]
    assert audit[0].details["receipt_no"] == rejected.receipt_no
    assert audit[1].details["note"] == "duplicate of a WESS correction"


def test_void_of_a_discarded_sale_is_parked_with_a_reason(server: RunningServer, counter: Engine) -> None:
    bad_sale, bad_entry = queue_sale(counter, 30, receipt(), lines=(Line("Broken", "X", "Hair", 0, 1000),))
    void_sale, void_entry = queue_void(counter, bad_sale)
    fast_worker(counter, server.client()).run_once()
    discard_entry(counter, bad_entry, staff_id=3)
    fast_worker(counter, server.client()).run_once()
    parked = entry(counter, void_entry)
    assert parked.status == "parked" and "never reached the server" in (parked.last_error or "")


def test_wrong_key_pauses_without_charging_entries(server: RunningServer, counter: Engine) -> None:
    _, entry_id = queue_sale(counter, 40, receipt())
    bad = LoyaltyClient(ApiConfig(base_url=server.api_url, api_key="revoked"))
    worker = fast_worker(counter, bad)
    report = worker.run_once()
    assert report.auth_error and "Unauthenticated" in report.auth_error
    assert worker.paused_reason == report.auth_error
    waiting = entry(counter, entry_id)
    assert waiting.status == "pending" and waiting.attempts == 0 and waiting.next_attempt_at is None
    assert worker.seconds_until_next_run(report) == worker.options.auth_pause


def test_retry_after_is_honoured_for_the_request_and_a_run_of_429s_pauses_everyone(
        server: RunningServer, counter: Engine) -> None:
    _, entry_id = queue_sale(counter, 41, receipt())
    server.faults(rate_limit_rate=1.0, retry_after=30)
    worker = fast_worker(counter, server.client(), threads=1)
    started = datetime.now(timezone.utc)
    report = worker.run_once()
    assert report.rate_limited == 1 and report.rate_limited_until is not None
    waiting = entry(counter, entry_id)
    assert waiting.status == "pending" and waiting.attempts == 1
    assert waiting.next_attempt_at is not None and waiting.next_attempt_at >= started + timedelta(seconds=30)
    server.faults()
    assert worker.run_once().delivered == 0  # that request waits as long as the server said
    # Two members' sales, both refused with 429 (twice the threads in a row): nobody sends for 30 s.
    queue_sale(counter, 43, receipt())
    queue_sale(counter, 44, receipt())
    server.faults(rate_limit_rate=1.0, retry_after=30)
    report = worker.run_once()
    assert report.rate_limited >= 1 and report.rate_limited_until is not None
    assert 25 < worker.seconds_until_next_run(report) <= 30
    server.faults()
    queue_sale(counter, 45, receipt())
    assert worker.run_once().delivered == 0  # not even a new sale goes before the server said so


def test_transient_failures_back_off_exponentially_with_jitter(server: RunningServer, counter: Engine) -> None:
    policy = RetryPolicy(base=1.0, cap=300.0)
    rng = random.Random(5)
    for attempt, ceiling in ((1, 1), (2, 2), (5, 16), (12, 300), (40, 300)):
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(policy.floor <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.3  # full jitter spreads the retries
    _, entry_id = queue_sale(counter, 42, receipt())
    server.faults(error_rate=1.0)
    worker = fast_worker(counter, server.client(), retry=RetryPolicy(base=10, cap=60))
    worker.run_once()
    first = entry(counter, entry_id)
    assert first.attempts == 1 and "500" in (first.last_error or "")
    assert first.next_attempt_at is not None
    assert first.next_attempt_at <= datetime.now(timezone.utc) + timedelta(seconds=10.5)


def test_lost_answer_without_idempotency_is_resolved_by_receipt_number(server_factory: object,
                                                                       counter: Engine) -> None:
    plain = server_factory("--no-idempotency")  # type: ignore[operator]
    numbers = [receipt() for _ in range(6)]
    for index, number in enumerate(numbers):
        queue_sale(counter, 50 + index % 2, number)
    plain.faults(error_after_commit_rate=1.0)
    worker = fast_worker(counter, plain.client())
    worker.run_once()  # every sale applied on the server, every answer lost
    plain.faults()
    drain_until_empty(worker, timeout=30)
    assert outbox_statuses(counter) == {"done": 6}
    rows = [t for t in plain.transactions() if t["transaction_no"] in numbers]
    assert sorted(t["transaction_no"] for t in rows) == sorted(numbers)  # each exactly once
    with Session(counter) as session:
        sales = session.scalars(select(Sale).where(Sale.receipt_no.in_(numbers))).all()
        assert all(s.status == "synced" and s.server_transaction_id for s in sales)
        done = session.scalars(select(OutboxEntry).where(OutboxEntry.status == "done")).all()
        # The first sale of each member was applied with its answer lost; the rest waited behind it.
        assert sum(bool(e.response.get("resolved_duplicate")) for e in done) == 2


def test_same_receipt_for_a_different_sale_is_parked(server: RunningServer, counter: Engine) -> None:
    number = receipt()
    server.client().issue_point({"user_id": 100060, "amount": "99.00", "transaction_no": number,
                                 "custom_store_id": "TAMPINES", "custom_store_code": "TAMPINES"})
    _, entry_id = queue_sale(counter, 61, number)
    fast_worker(counter, server.client()).run_once()
    parked = entry(counter, entry_id)
    assert parked.status == "parked" and "different amount" in (parked.last_error or "")


def test_a_new_worker_resumes_where_the_last_one_stopped(server: RunningServer, counter: Engine) -> None:
    for index in range(20):
        queue_sale(counter, 70 + index % 4, receipt())
    first = fast_worker(counter, server.client(), threads=1, run_length=2, load_limit=4)
    first.run_once(max_seconds=0.0)  # one round only, then "the app closes"
    partial = outbox_statuses(counter)
    assert 0 < partial.get("done", 0) < 20
    fast_worker(counter, server.client()).run_once()
    assert outbox_statuses(counter) == {"done": 20}


def test_unreadable_payload_is_parked_not_crashed(server: RunningServer, counter: Engine) -> None:
    with Session(counter) as session, session.begin():
        session.add(OutboxEntry(idempotency_key=uuid.uuid4().hex, kind="sale", partition_key="member:80",
                                member_id=80, payload={"endpoint": "integration/issue_point"}, response={}))
        session.add(OutboxEntry(idempotency_key=uuid.uuid4().hex, kind="teleport", partition_key="member:81",
                                member_id=81, payload={}, response={}))
    report = fast_worker(counter, server.client()).run_once()
    assert report.parked == 2
    with Session(counter) as session:
        errors = session.scalars(select(OutboxEntry.last_error).order_by(OutboxEntry.id)).all()
    assert "names no sale" in errors[0] and "teleport" in errors[1]


def test_refund_takes_points_back_after_its_sale(server: RunningServer, counter: Engine) -> None:
    member_id = 255
    sale_id, _ = queue_sale(counter, member_id, receipt())
    with Session(counter) as session, session.begin():
        original = session.get(Sale, sale_id)
        assert original is not None
        refund = Sale(kind="refund", receipt_no=original.receipt_no, outlet_code=original.outlet_code,
                      member_id=member_id, occurred_at=datetime.now(timezone.utc), total_minor=-3400,
                      points_earned=-34, original_sale_id=sale_id, status="pending")
        session.add(refund)
        session.flush()
        session.add(LedgerEntry(member_id=member_id, sale_id=refund.id, kind="reversal", points=-34,
                                status="pending"))
        session.add(OutboxEntry(idempotency_key=uuid.uuid4().hex, kind="refund",
                                partition_key=f"member:{member_id}", sale_id=refund.id, member_id=member_id,
                                response={},
                                payload={"endpoint": "point/adjust", "original_sale_id": sale_id,
                                         "params": {"action": "deduct", "points": 34, "user_id": 100254,
                                                    "note": f"refund {original.receipt_no}"}}))
        refund_id = refund.id
    report = fast_worker(counter, server.client()).run_once()
    assert report.delivered == 2 and report.by_kind == {"sale": 1, "refund": 1}
    assert sale(counter, refund_id).status == "synced" and ledger_statuses(counter, refund_id) == ["confirmed"]
    with Session(counter) as session:
        balance = session.get(Member, member_id).points_balance  # type: ignore[union-attr]
    assert balance == server.client().user_show(user_id=100254)["points"][0]["points"]


def test_one_drainer_at_a_time_and_a_dead_drainers_claims_are_in_doubt(server: RunningServer,
                                                                         counter: Engine) -> None:
    import threading

    from sqlalchemy import update

    members = member_ids(counter, 200)[180:190]
    numbers = [receipt() for _ in range(60)]
    for index, number in enumerate(numbers):
        queue_sale(counter, members[index % len(members)], number)
    server.faults(latency_ms=40)
    first = fast_worker(counter, server.client(), run_length=2, load_limit=4)  # many short rounds
    second = fast_worker(counter, server.client())
    reports = []
    started = threading.Event()
    first.on_progress = lambda _report: started.set()
    running = threading.Thread(target=lambda: reports.append(first.run_once()))
    running.start()
    try:
        assert started.wait(30)  # the first drainer has committed progress: it is mid-drain
        busy = second.run_once()
        assert busy.busy and busy.delivered == 0  # the second drainer sent nothing while the first ran
    finally:
        running.join(timeout=60)
        server.faults()
    assert outbox_statuses(counter) == {"done": 60}
    held = [t for t in server.transactions() if t["transaction_no"] in numbers]
    assert sorted(t["transaction_no"] for t in held) == sorted(numbers)  # each exactly once
    # A row claimed by a drainer that died before answering is in doubt for the next one.
    sale_id, entry_id = queue_sale(counter, members[0], receipt())
    with counter.begin() as conn:
        conn.execute(update(OutboxEntry).where(OutboxEntry.id == entry_id).values(lease_owner="999:dead"))
    second.run_once()
    assert entry(counter, entry_id).status == "done" and sale(counter, sale_id).status == "synced"
    first.close()
    second.close()


def test_same_receipt_for_another_member_is_a_conflict_never_merged(server: RunningServer, counter: Engine) -> None:
    number = receipt()
    server.client().issue_point({"user_id": 100062, "amount": "68.00", "transaction_no": number,
                                 "custom_store_id": "TAMPINES", "custom_store_code": "TAMPINES"})
    sale_id, entry_id = queue_sale(counter, 64, number)  # same outlet, receipt and amount; another member
    fast_worker(counter, server.client()).run_once()
    parked = entry(counter, entry_id)
    assert parked.status == "parked" and "another member" in (parked.last_error or "")
    assert sale(counter, sale_id).status == "rejected"
    with Session(counter) as session:
        member = session.get(Member, 64)
        assert member is not None and member.server_id == 100063  # nothing of member 100062 was copied here


def test_a_refused_points_payment_can_be_sent_without_it(server: RunningServer, counter: Engine) -> None:
    from sync.outbox import send_without_refused_part

    member_id = 66
    server_id = 100065
    balance = server.client().user_show(user_id=server_id)["points"][0]["points"]
    sale_id, entry_id = queue_sale(counter, member_id, receipt(), points_paid=balance + 5000)
    worker = fast_worker(counter, server.client())
    worker.run_once()
    parked = entry(counter, entry_id)
    assert parked.status == "parked" and "send without the refused part" in (parked.last_error or "")
    assert parked.response["refused_part"] == "points"
    send_without_refused_part(counter, entry_id, staff_id=3, note="customer paid the rest by card")
    worker.run_once()
    worker.close()
    done = sale(counter, sale_id)
    assert entry(counter, entry_id).status == "done" and done.status == "synced"
    with Session(counter) as session:
        redemption = session.scalars(select(SaleRedemption).where(SaleRedemption.sale_id == sale_id)).one()
        assert redemption.status == "refused"
    held = [t for t in server.transactions() if t["id"] == int(done.server_transaction_id or 0)]
    assert held and held[0]["deducted_points"] == 0  # posted without the points payment


def test_without_a_transaction_listing_a_lost_answer_is_applied_id_unknown_and_a_void_adjusts(
        server_factory: object, counter: Engine) -> None:
    """A server with no E5 at all (the public API does not promise it): a duplicate refusal of an entry in doubt
    means applied, with the id unknown; a later void then uses the documented alternative, a point adjustment."""
    server = server_factory("--strict")  # type: ignore[operator]
    member_id, server_id = 68, 100067
    before = server.client().user_show(user_id=server_id)["points"][0]["points"]
    client = server.client(paths={"point_transactions": "integration/no_such_listing"})
    sale_id, entry_id = queue_sale(counter, member_id, receipt())
    server.faults(error_after_commit_rate=1.0)
    # A retry far off, so the run ends with the entry in doubt however slow this machine is (a fast retry could
    # come round within the same run and settle it already).
    patient = fast_worker(counter, client, retry=RetryPolicy(base=60.0, cap=60.0, floor=30.0))
    patient.run_once()
    patient.close()
    assert entry(counter, entry_id).status == "in_doubt" and sale(counter, sale_id).status == "in_doubt"
    server.faults()
    worker = fast_worker(counter, client)
    with counter.begin() as conn:
        conn.execute(update(OutboxEntry).where(OutboxEntry.id == entry_id).values(next_attempt_at=None))
    drain_until_empty(worker)
    applied = sale(counter, sale_id)
    assert applied.status == "synced" and applied.server_transaction_id is None  # applied, id unknown
    assert entry(counter, entry_id).response["resolved_duplicate"]
    # Without any listing the counter cannot learn what the sale earned on the server; here a member refresh
    # (or the manager) has recorded it, so the void's adjustment can take back exactly that.
    earned = [t for t in server.transactions() if t["transaction_no"] == applied.receipt_no][0]["points"]
    with counter.begin() as conn:
        conn.execute(update(Sale).where(Sale.id == sale_id).values(server_points=earned))
    _, void_entry = queue_void(counter, sale_id)
    drain_until_empty(worker)
    worker.close()
    assert entry(counter, void_entry).status == "done"
    assert server.client().user_show(user_id=server_id)["points"][0]["points"] == before

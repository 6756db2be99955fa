"""The day's three-way reconciliation: WESS receipts by mail, loyalty sales, the server."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from devtools.invoice_corpus import SGT, make_receipt, to_eml
from frontdesk.invoices.importer import Origin
from frontdesk.invoices.reconcile import reconcile_day
from frontdesk.sales import PaymentInput, SaleRequest
from tests.invoices.conftest import member_id, query

FOLDER = Origin(source="folder", mailbox="day")


def counter_sale(invoices, db, member, receipt_no, total, when):  # type: ignore[no-untyped-def]
    draft = SaleRequest(member_id=member_id(db, member[0]), staff_id=1, receipt_no=receipt_no, occurred_at=when,
                          itemised=False, total=str(total), payments=(PaymentInput("card", str(total)),))
    return invoices.checkout.record(draft).sale_id


def test_reconciliation_lists_missed_points_mismatches_and_unreceipted_counter_sales(invoices, members, settings,
                                                                                    engine):
    db = settings.database_path
    day = (datetime.now(SGT) - timedelta(days=1)).replace(hour=11, minute=0, second=0, microsecond=0)
    rng = random.Random(1)

    def receipt(number, member, hour):  # type: ignore[no-untyped-def]
        return make_receipt(rng, number, member=member, when=day.replace(hour=hour))

    queued = receipt(1, members[0], 10)
    assert invoices.importer.process_mail(to_eml(queued, "html"), FOLDER).status == "queued"
    query(db, "SELECT 1")  # the queued one is pending at the server: a warning
    missed = receipt(2, members[1], 11)
    missed.gst += Decimal("1.00")  # will sit in review: a member's receipt with no loyalty sale
    assert invoices.importer.process_mail(to_eml(missed, "html"), FOLDER).review_code == "gst"
    differs = receipt(3, members[2], 12)
    counter_sale(invoices, db, members[2], differs.receipt_no, differs.total + 5, day.replace(hour=12))
    assert invoices.importer.process_mail(to_eml(differs, "text"), FOLDER).review_code == "counter_mismatch"
    walk_in = receipt(4, None, 13)
    invoices.importer.process_mail(to_eml(walk_in, "html"), FOLDER)
    counter_sale(invoices, db, members[3], "T999999-9", Decimal("42.00"), day.replace(hour=14))  # typo'd number
    elsewhere = receipt(6, members[4], 15)
    elsewhere.when = day - timedelta(days=1)
    invoices.importer.process_mail(to_eml(elsewhere, "html"), FOLDER)  # another day: not listed

    result = reconcile_day(engine, day.date(), "TAMPINES", settings.zone)
    kinds = {(item.kind, item.receipt_no) for item in result.items}
    assert ("missed_points", missed.receipt_no) in kinds
    assert ("totals_differ", differs.receipt_no) in kinds
    assert ("not_confirmed", queued.receipt_no) in kinds
    assert ("waiting", walk_in.receipt_no) in kinds
    assert ("no_wess_receipt", "T999999-9") in kinds
    assert not any(item.receipt_no == elsewhere.receipt_no for item in result.items)
    assert {i.kind for i in result.blockers} == {"missed_points", "totals_differ"}
    assert result.wess_receipts == 4 and result.mail_sales == 1 and result.counter_sales == 2
    data = result.to_json()
    assert data["blockers"] == 2 and data["items"][0]["severity"] == "blocker"

    query(db, "SELECT 1")
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("UPDATE sales SET status = 'rejected', reject_reason = 'unknown member' WHERE receipt_no = ?",
                 (queued.receipt_no,))
    conn.commit()
    conn.close()
    again = reconcile_day(engine, day.date(), "TAMPINES", settings.zone)
    assert ("rejected_by_server", queued.receipt_no) in {(i.kind, i.receipt_no) for i in again.blockers}


def test_a_day_without_mail_lists_no_counter_sale_as_unreceipted(invoices, members, settings, engine):
    when = datetime.now(SGT) - timedelta(hours=2)
    counter_sale(invoices, settings.database_path, members[0], "T123", Decimal("10.00"), when)
    result = reconcile_day(engine, when.date(), "TAMPINES", settings.zone)
    assert result.items == () and result.counter_sales == 1 and result.wess_receipts == 0

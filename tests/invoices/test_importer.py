"""The importer end to end on a real database: receipts become sales through the checkout, once."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from devtools.invoice_corpus import SGT, Line, make_receipt, refund_of, settle, to_eml
from frontdesk.invoices.importer import Decision, Origin, draft_id_for
from frontdesk.invoices.sources import import_wess_csv
from frontdesk.sales import LineInput, PaymentInput, SaleRequest
from tests.invoices.conftest import MANAGER_ID, MANAGER_PIN, member_id, query

FOLDER = Origin(source="folder", mailbox="test")


def receipt_for(member, number: int = 1, **kw):  # type: ignore[no-untyped-def]
    return make_receipt(random.Random(number), number, member=member, **kw)


def test_each_layout_becomes_an_invoice_mail_sale_with_its_outbox_entry(invoices, members, settings):
    db = settings.database_path
    for number, layout in enumerate(("html", "text", "pdf"), start=1):
        receipt = receipt_for(members[number], number, inclusive=layout != "pdf", service_charge=layout == "pdf")
        outcome = invoices.importer.process_mail(to_eml(receipt, layout), FOLDER)
        assert outcome.status == "queued", outcome.reason
        sale = query(db, "SELECT receipt_no, outlet_code, sales_mode, total_minor, member_id, points_earned, kind "
                         "FROM sales WHERE id = ?", (outcome.sale_id,))[0]
        assert sale[:4] == (receipt.receipt_no, "TAMPINES", "invoice_mail", int(receipt.total * 100))
        assert sale[4] == member_id(db, members[number][0])
        assert sale[5] > 0 and sale[6] == "sale"
        outbox = query(db, "SELECT kind, status FROM outbox WHERE sale_id = ?", (outcome.sale_id,))
        assert outbox == [("sale", "pending")]
        items = query(db, "SELECT count(*) FROM sale_items WHERE sale_id = ?", (outcome.sale_id,))[0][0]
        assert items == len(receipt.lines)
        status = query(db, "SELECT status, sale_id, member_id FROM inbound_invoices WHERE id = ?",
                       (outcome.invoice_id,))[0]
        assert status == ("queued", outcome.sale_id, sale[4])


def test_package_redemption_line_earns_nothing(invoices, members, settings):
    receipt = receipt_for(members[0], 7, redemption=True)
    outcome = invoices.importer.process_mail(to_eml(receipt, "html"), FOLDER)
    assert outcome.status == "queued", outcome.reason
    rows = query(settings.database_path, "SELECT name, total_minor, points, category FROM sale_items WHERE sale_id = ?",
                 (outcome.sale_id,))
    redemption = [r for r in rows if "Pkg" in r[0]]
    assert redemption and redemption[0][1:] == (0, 0, "Package Redemption")


def test_resend_with_a_new_message_id_and_the_same_mail_twice_are_no_ops(invoices, members, settings):
    receipt = receipt_for(members[0], 11)
    first = invoices.importer.process_mail(to_eml(receipt, "text"), FOLDER)
    again = invoices.importer.process_mail(to_eml(receipt, "text", message_id="<resend-1@wess.example>"), FOLDER)
    same = invoices.importer.process_mail(to_eml(receipt, "text", message_id="<resend-1@wess.example>"), FOLDER)
    assert first.status == "queued"
    assert (again.status, again.invoice_id) == ("duplicate", first.invoice_id)
    assert (same.status, same.invoice_id) == ("duplicate", first.invoice_id)
    db = settings.database_path
    assert query(db, "SELECT count(*) FROM sales WHERE receipt_no = ?", (receipt.receipt_no,))[0][0] == 1
    assert query(db, "SELECT seen_count FROM inbound_invoices WHERE id = ?", (first.invoice_id,))[0][0] == 3


def test_reprint_and_forwarded_copy_are_duplicates_of_the_first(invoices, members, settings):
    receipt = receipt_for(members[0], 12)
    first = invoices.importer.process_mail(to_eml(receipt, "html"), FOLDER)
    reprint = invoices.importer.process_mail(to_eml(replace(receipt, reprint=True), "html"), FOLDER)
    forwarded = invoices.importer.process_mail(to_eml(receipt, "html", subject="Fwd: your receipt"), FOLDER)
    assert first.status == "queued"
    assert reprint.status == "duplicate" and not reprint.seen_before
    assert forwarded.status == "duplicate" and forwarded.seen_before
    rows = query(settings.database_path, "SELECT status, related_invoice_id FROM inbound_invoices ORDER BY id")
    assert rows == [("queued", None), ("duplicate", first.invoice_id)]
    assert query(settings.database_path, "SELECT count(*) FROM sales WHERE receipt_no = ?",
                 (receipt.receipt_no,))[0][0] == 1


def test_same_receipt_with_other_figures_is_a_conflict_and_overwrites_nothing(invoices, members, settings):
    receipt = receipt_for(members[0], 13)
    first = invoices.importer.process_mail(to_eml(receipt, "html"), FOLDER)
    changed = replace(receipt, lines=receipt.lines + [Line("PRD-X", "Extra Serum", "P", 1, Decimal("20.00"),
                                                            Decimal(0), "Jason")])
    settle(changed)
    second = invoices.importer.process_mail(to_eml(changed, "html"), FOLDER)
    assert first.status == "queued"
    assert (second.status, second.review_code) == ("review", "conflict")
    assert "total" in second.reason and "Nothing was overwritten" in second.reason
    total = query(settings.database_path, "SELECT total_minor FROM sales WHERE id = ?", (first.sale_id,))[0][0]
    assert total == int(receipt.total * 100)
    items = invoices.review.review_list()
    assert [i.code for i in items] == ["conflict"]


def test_receipt_already_keyed_at_the_counter_is_matched_not_recorded_twice(invoices, members, settings):
    db = settings.database_path
    receipt = receipt_for(members[0], 14)
    who = member_id(db, members[0][0])
    total = receipt.total
    draft = SaleRequest(member_id=who, staff_id=1, receipt_no=receipt.receipt_no, occurred_at=receipt.when,
                          itemised=False, total=str(total), payments=(PaymentInput("card", str(total)),))
    counter = invoices.checkout.record(draft)
    outcome = invoices.importer.process_mail(to_eml(receipt, "html"), FOLDER)
    assert (outcome.status, outcome.sale_id) == ("matched", counter.sale_id)
    assert query(db, "SELECT count(*) FROM sales WHERE receipt_no = ?", (receipt.receipt_no,))[0][0] == 1

    other = receipt_for(members[1], 15)
    typed = SaleRequest(member_id=member_id(db, members[1][0]), staff_id=1, receipt_no=other.receipt_no,
                          occurred_at=other.when, itemised=False, total=str(other.total + 10),
                          payments=(PaymentInput("card", str(other.total + 10)),))
    invoices.checkout.record(typed)
    flagged = invoices.importer.process_mail(to_eml(other, "text"), FOLDER)
    assert (flagged.status, flagged.review_code) == ("review", "counter_mismatch")
    assert "keyed at the counter" in flagged.reason
    kept = invoices.review.accept(flagged.invoice_id, manager_id=MANAGER_ID, pin=MANAGER_PIN,
                                  note="counter figure is right")
    assert kept.status == "matched"


def test_walk_in_waits_for_the_receptionist_and_one_link_queues_it(invoices, members, settings):
    receipt = receipt_for(None, 16)
    outcome = invoices.importer.process_mail(to_eml(receipt, "html"), FOLDER)
    assert (outcome.status, outcome.review_code) == ("review", "no_member")
    waiting = invoices.review.receipts_waiting("TAMPINES")
    assert [w.receipt_no for w in waiting] == [receipt.receipt_no]
    who = member_id(settings.database_path, members[5][0])
    linked = invoices.review.link(outcome.invoice_id, who, staff_id=1)
    assert linked.status == "queued"
    assert query(settings.database_path, "SELECT member_id, sales_mode FROM sales WHERE id = ?",
                 (linked.sale_id,)) == [(who, "invoice_mail")]
    assert invoices.review.receipts_waiting("TAMPINES") == []
    audit = query(settings.database_path, "SELECT action FROM audit_log WHERE action LIKE 'invoice%'")
    assert audit == [("invoice_link",)]


def test_a_shared_phone_is_never_picked(invoices, settings):
    rows = query(settings.database_path, "SELECT phone_e164 FROM members GROUP BY phone_e164 HAVING count(*) > 1 "
                                         "LIMIT 1")
    assert rows, "the demo data has families sharing a phone"
    phone = rows[0][0]
    receipt = receipt_for(("", "Family Member", phone, ""), 17)
    outcome = invoices.importer.process_mail(to_eml(receipt, "html"), FOLDER)
    assert (outcome.status, outcome.review_code) == ("review", "no_member")
    assert "share the mobile" in outcome.reason


def test_refund_becomes_a_reversal_of_the_original_once_a_manager_approves(invoices, members, settings):
    db = settings.database_path
    original = receipt_for(members[2], 18)
    sold = invoices.importer.process_mail(to_eml(original, "html"), FOLDER)
    assert sold.status == "queued"
    refund = refund_of(original, Decimal("20.00"), 18)
    outcome = invoices.importer.process_mail(to_eml(refund, "html"), FOLDER)
    assert (outcome.status, outcome.review_code) == ("review", "refund")
    assert outcome.sale_id == sold.sale_id and "points" in outcome.reason
    assert query(db, "SELECT count(*) FROM sales WHERE kind = 'sale' AND receipt_no = ?",
                 (refund.receipt_no,))[0][0] == 0, "a refund is never a new purchase"
    done = invoices.review.approve_refund(outcome.invoice_id, manager_id=MANAGER_ID, pin=MANAGER_PIN)
    assert done.status == "reversed"
    reversal = query(db, "SELECT kind, original_sale_id, total_minor, sales_mode FROM sales WHERE id = ?",
                     (done.sale_id,))[0]
    assert reversal == ("refund", sold.sale_id, 2000, "invoice_mail")

    orphan = refund_of(receipt_for(members[3], 19), Decimal("5.00"), 19)
    lost = invoices.importer.process_mail(to_eml(orphan, "text"), FOLDER)
    assert (lost.status, lost.review_code) == ("review", "refund_no_original")


def test_bad_figures_go_to_review_and_a_manager_can_accept_them_as_printed(invoices, members, settings):
    receipt = receipt_for(members[4], 20)
    receipt.gst += Decimal("0.50")  # WESS printed a GST that is off by 50 cents
    outcome = invoices.importer.process_mail(to_eml(receipt, "html"), FOLDER)
    assert (outcome.status, outcome.review_code) == ("review", "gst")
    detail = invoices.review.detail(outcome.invoice_id)
    assert any("GST" in p for p in detail.problems) and "Receipt No" in detail.mail_text
    refused = None
    try:
        invoices.review.accept(outcome.invoice_id, manager_id=MANAGER_ID, pin="0000", note="as printed",
                               accept_figures=True)
    except Exception as error:  # noqa: BLE001
        refused = error
    assert refused is not None and "pin" in str(refused).lower()
    accepted = invoices.review.accept(outcome.invoice_id, manager_id=MANAGER_ID, pin=MANAGER_PIN,
                                      note="WESS rounds GST per line", accept_figures=True)
    assert accepted.status == "queued"


def test_fix_a_misprinted_receipt_number_then_accept(invoices, members, settings):
    receipt = replace(receipt_for(members[6], 21), receipt_no="T000021-2?")
    outcome = invoices.importer.process_mail(to_eml(receipt, "text"), FOLDER)
    assert outcome.status == "review"
    fixed = invoices.review.accept(outcome.invoice_id, manager_id=MANAGER_ID, pin=MANAGER_PIN, note="typo in WESS",
                                   fixes={"receipt_no": "T000021-2"})
    assert fixed.status == "queued"
    assert query(settings.database_path, "SELECT receipt_no FROM sales WHERE id = ?", (fixed.sale_id,)) == [
        ("T000021-2",)]


def test_discard_needs_a_reason_and_keeps_the_mail(invoices, settings):
    outcome = invoices.importer.process_mail(b"Subject: hello\r\nFrom: spam@example.com\r\n\r\nbuy now\r\n", FOLDER)
    assert (outcome.status, outcome.review_code) == ("review", "no_profile")
    done = invoices.review.discard(outcome.invoice_id, manager_id=MANAGER_ID, pin=MANAGER_PIN, reason="not a receipt")
    assert done.status == "discarded"
    row = query(settings.database_path, "SELECT status, reason, length(raw_mail) FROM inbound_invoices")[0]
    assert row[0] == "discarded" and "not a receipt" in row[1] and row[2] > 0


def test_other_outlets_receipt_and_unknown_outlet_go_to_review(invoices, members):
    bugis = invoices.importer.process_mail(to_eml(receipt_for(members[0], 22, outlet="Bugis"), "html"), FOLDER)
    assert (bugis.status, bugis.review_code) == ("review", "other_outlet")
    nowhere = invoices.importer.process_mail(to_eml(receipt_for(members[0], 23, outlet="Atlantis"), "html"), FOLDER)
    assert (nowhere.status, nowhere.review_code) == ("review", "outlet")


def test_future_and_too_old_receipts_go_to_review(invoices, members):
    now = datetime.now(SGT).replace(second=0, microsecond=0)
    future = receipt_for(members[0], 24, when=now + timedelta(days=2))
    old = receipt_for(members[0], 25, when=now - timedelta(days=90))
    for receipt in (future, old):
        outcome = invoices.importer.process_mail(to_eml(receipt, "html"), FOLDER)
        assert (outcome.status, outcome.review_code) == ("review", "date")


def test_a_crash_after_the_sale_before_the_decision_is_resumed_without_a_second_sale(invoices, members, settings):
    """What kill -9 leaves behind between step 2 and 3: the sale and its outbox entry exist, the row says
    received. Resuming finds the sale through the draft id (the checkout replays) and marks the row queued."""
    db = settings.database_path
    receipt = receipt_for(members[7], 26)
    importer = invoices.importer
    original_finish = importer.finish
    crashed = {}

    def crash_on_queue(invoice_id, status, *args, **kwargs):  # type: ignore[no-untyped-def]
        if status == "queued" and not crashed:
            crashed["id"] = invoice_id
            raise SystemExit("killed")
        return original_finish(invoice_id, status, *args, **kwargs)

    importer.finish = crash_on_queue  # type: ignore[method-assign]
    try:
        importer.process_mail(to_eml(receipt, "html"), FOLDER)
    except SystemExit:
        pass
    importer.finish = original_finish  # type: ignore[method-assign]
    assert query(db, "SELECT status FROM inbound_invoices") == [("received",)]
    assert query(db, "SELECT count(*) FROM sales WHERE receipt_no = ?", (receipt.receipt_no,))[0][0] == 1
    again = importer.process_mail(to_eml(receipt, "html"), FOLDER)  # the mail comes again (it was never marked)
    assert again.status == "queued"
    assert query(db, "SELECT count(*) FROM sales WHERE receipt_no = ?", (receipt.receipt_no,))[0][0] == 1
    assert query(db, "SELECT count(*) FROM outbox WHERE idempotency_key = ?",
                 (draft_id_for(crashed["id"], query(db, "SELECT body_sha256 FROM inbound_invoices")[0][0]),))[0][0] == 1


def test_wess_csv_export_back_fills_a_day_and_dedups_against_mail(invoices, members, settings, tmp_path):
    db = settings.database_path
    code, name = members[8][0], members[8][1]
    day = (datetime.now(SGT) - timedelta(days=1)).strftime("%d-%m-%Y")
    csv_text = (
        "Sales Report,,,,,,,,,\n"
        "No.,Date,Reference No.,Employee,Customer,Item,Type,Qty,Nett,Deduction\n"
        "Tampines Mall,,,,,,,,,\n"
        f"1,{day} 01:47 PM,T900001-2,Jason,{code}:{name},SVC-CUT-L: A La Carte - Ladies Cut & Blow,S,1,68.00,0\n"
        f"2,{day} 01:47 PM,T900001-2,Aisha,{code}:{name},PKG-SPA: A La Carte - Scalp Spa,C,1,0.00,0\n"
        f"3,{day} 01:47 PM,T900001-2,Mei,{code}:{name},PRD-SHA-250,P,1,32.00,0\n"
        ",,,,,,,Total,100.00,\n"
        f"4,{day} 03:10 PM,T900002-2,Priya,,SVC-WSH: A La Carte - Wash & Blow,S,1,25.00,0\n")
    path = tmp_path / "sales.csv"
    path.write_text(csv_text, encoding="utf-8")
    outcomes = import_wess_csv(invoices.importer, path, "TAMPINES")
    assert [o.status for o in outcomes] == ["queued", "review"]
    assert outcomes[1].review_code == "no_member"
    assert query(db, "SELECT total_minor, sales_mode FROM sales WHERE receipt_no = 'T900001-2'") == [
        (10000, "invoice_mail")]
    again = import_wess_csv(invoices.importer, path, "TAMPINES")
    assert [o.status for o in again] == ["duplicate", "duplicate"]


def test_decision_member_override_is_used(invoices, members, settings):
    receipt = receipt_for(None, 27, inclusive=False, service_charge=True)
    outcome = invoices.importer.process_mail(to_eml(receipt, "pdf"), FOLDER)
    assert outcome.review_code == "no_member"
    who = member_id(settings.database_path, members[9][0])
    done = invoices.importer.decide(outcome.invoice_id, Decision(member_id=who))
    assert done.status == "queued"


def test_draft_carries_lines_tax_and_service_charge_that_add_up(invoices, members):
    from frontdesk.invoices.importer import draft_from_invoice
    from frontdesk.invoices.validate import Invoice, InvoiceLine, InvoicePayment

    invoice = Invoice(profile="x", currency="SGD", receipt_no="T1", outlet_code="TAMPINES",
                      lines=[InvoiceLine("Cut", Decimal("100.00"), qty=1, unit_price=Decimal("100.00")),
                             InvoiceLine("Oil", Decimal("100.00"), qty=3)],
                      subtotal=Decimal("200.00"), discount=Decimal("10.00"), service_charge=Decimal("19.00"),
                      gst=Decimal("18.81"), gst_inclusive=False, rounding=Decimal("-0.01"), total=Decimal("227.80"),
                      payments=[InvoicePayment("Cash", "cash", Decimal("230.00"))], change=Decimal("2.20"))
    draft = draft_from_invoice(invoice, member_id=1, staff_id=1, draft_id="0" * 32)
    assert not isinstance(draft, str), draft
    # 10.00 discount + 0.01 rounding down spread 5.01/5.00; GST 18.81 and service 19.00 spread on what is left.
    assert draft.lines[0] == LineInput(name="Cut", sku="", category="", quantity="1", unit_price="100.00",
                                       tax="9.40", service_charge="9.50", discount="5.01")
    assert draft.lines[1] == LineInput(name="3 × Oil", sku="", category="", quantity="1", unit_price="100.00",
                                       tax="9.41", service_charge="9.50", discount="5.00")
    assert draft.payments == (PaymentInput("cash", "227.80", "Cash"),)
    assert draft.sales_mode == "invoice_mail" and draft.outlet_code == "TAMPINES"


def test_staff_nobody_knows_goes_to_review_without_a_default(engine, settings, members):
    from frontdesk.invoices.service import build_invoice_services
    from frontdesk.invoices.settings import InvoiceSettings

    services = build_invoice_services(engine, settings, config=InvoiceSettings(outlets=("TAMPINES",)))
    try:
        receipt = receipt_for(members[0], 28)
        for line in receipt.lines:
            line.staff = "Zed (Assist)"
        receipt.staff = "Zed"
        outcome = services.importer.process_mail(to_eml(receipt, "html"), FOLDER)
        assert (outcome.status, outcome.review_code) == ("review", "staff")
        assert "Zed" in outcome.reason
        done = services.review.link(outcome.invoice_id, member_id(settings.database_path, members[0][0]), staff_id=2)
        assert done.status == "queued"
    finally:
        services.close()


def test_a_reused_message_id_with_other_contents_is_read_as_a_new_mail(invoices, members, settings):
    one = receipt_for(members[0], 29)
    two = receipt_for(members[1], 30)
    first = invoices.importer.process_mail(to_eml(one, "html", message_id="<same@wess.example>"), FOLDER)
    second = invoices.importer.process_mail(to_eml(two, "html", message_id="<same@wess.example>"), FOLDER)
    assert (first.status, second.status) == ("queued", "queued")
    assert first.sale_id != second.sale_id
    rows = query(settings.database_path, "SELECT message_id, extracted FROM inbound_invoices ORDER BY id")
    assert rows[0][0] == "same@wess.example" and rows[1][0] is None
    assert "already used by invoice mail" in rows[1][1]

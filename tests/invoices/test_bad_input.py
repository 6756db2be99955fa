"""Every kind of bad mail ends in review with a reason, within bounded time, and the importer keeps going."""
from __future__ import annotations

import functools
import random
import time
import zlib
from email.message import EmailMessage

import pytest

from devtools.invoice_corpus import make_receipt, render_html, to_eml
from frontdesk.invoices.importer import Origin
from frontdesk.invoices.sources import import_mail_file, iter_mail_files
from tests.invoices.conftest import query

FOLDER = Origin(source="folder", mailbox="bad")
LIMIT_SECONDS = 10.0  # generous on a loaded 2-core machine; each case takes well under a second


def mail(body: bytes, headers: str = "") -> bytes:
    head = ("From: WESS Receipts <receipts@wess.example>\r\nTo: frontdesk@salon.test\r\n"
            "Subject: Your receipt\r\nMessage-ID: <%s@wess.example>\r\n" % random.random()) + headers
    return head.encode() + b"\r\n" + body


def with_attachment(data: bytes, filename: str, maintype: str, subtype: str, count: int = 1) -> bytes:
    msg = EmailMessage()
    msg["From"] = "receipts@wess.example"
    msg["Subject"] = "Your invoice"
    msg["Message-ID"] = f"<{random.random()}@wess.example>"
    msg.set_content("Please find your invoice attached.")
    for i in range(count):
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=f"{i}-{filename}")
    return bytes(msg)


def flate_bomb_pdf() -> bytes:
    """A PDF whose one content stream inflates to 200 MB (it is 200 KB compressed)."""
    bomb = zlib.compress(b"\x00" * (200 * 1024 * 1024), 9)
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
            b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n"
            + f"4 0 obj << /Length {len(bomb)} /Filter /FlateDecode >>\nstream\n".encode() + bomb +
            b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def zip_bomb() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("invoice.txt", b"0" * (100 * 1024 * 1024))
    return buffer.getvalue()


@functools.lru_cache(maxsize=1)
def cases() -> dict[str, bytes]:
    receipt = make_receipt(random.Random(5), 500)
    html = render_html(receipt)
    deep = "<div>" * 100_000 + "Receipt No" + "</div>" * 100_000
    return {
        "malformed MIME": mail(b"--nothing\r\nContent-Type: text/html\r\n\r\n<p>half",
                               'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="never-closed"\r\n'),
        "not MIME at all": b"\x00\xff\xfe garbage \x00" * 1000,
        "wrong charset": mail(html.encode("utf-8"), "Content-Type: text/html; charset=klingon-8\r\n"),
        "missing charset, not UTF-8": mail(html.replace("Tampines Mall", "Tampinés Mall").encode("cp1252"),
                                           "Content-Type: text/html\r\n"),
        "HTML with scripts": mail(html.replace("<body>", "<body><script>while(true){}</script>"
                                               "<script>document.write('Receipt No')</script>").encode(),
                                  "Content-Type: text/html; charset=utf-8\r\n"),
        "deeply nested HTML": mail(("<html><body>Tax Invoice " + deep + "</body></html>").encode(),
                                   "Content-Type: text/html; charset=utf-8\r\n"),
        "PDF that will not open": with_attachment(b"%PDF-1.4\n this is not really a pdf", "inv.pdf", "application",
                                                  "pdf"),
        "PDF decompression bomb": with_attachment(flate_bomb_pdf(), "inv.pdf", "application", "pdf"),
        "zip bomb": with_attachment(zip_bomb(), "invoice.zip", "application", "zip"),
        "many attachments": with_attachment(b"x" * 1024, "photo.jpg", "image", "jpeg", count=300),
        "huge attachment": with_attachment(b"\x89PNG" + b"\x00" * (12 * 1024 * 1024), "scan.png", "image", "png"),
        "empty mail": b"",
    }


@pytest.mark.parametrize("name", list(cases()))
def test_bad_mail_goes_to_review_with_a_reason_in_bounded_time(invoices, settings, name):
    raw = cases()[name]
    started = time.perf_counter()
    outcome = invoices.importer.process_mail(raw, FOLDER)
    elapsed = time.perf_counter() - started
    assert elapsed < LIMIT_SECONDS, f"{name} took {elapsed:.1f} s"
    assert outcome.status == "review", (name, outcome)
    assert outcome.reason.strip(), name
    row = query(settings.database_path, "SELECT status, reason, review_code FROM inbound_invoices WHERE id = ?",
                (outcome.invoice_id,))[0]
    assert row[0] == "review" and row[1] == outcome.reason and row[2]


def test_reasons_say_what_is_wrong(invoices):
    reasons = {name: invoices.importer.process_mail(raw, FOLDER).reason for name, raw in cases().items()}
    assert "could not be opened" in reasons["PDF that will not open"]
    assert "decompression bomb" in reasons["PDF decompression bomb"]
    assert "archive" in reasons["zip bomb"]
    assert "no layout profile fits" in reasons["many attachments"]
    assert "no readable body" in reasons["empty mail"] or "no layout" in reasons["empty mail"]


def test_a_mail_of_50_mb_is_not_opened_and_the_folder_import_keeps_going(invoices, members, settings, tmp_path):
    big = with_attachment(b"\x00" * (37 * 1024 * 1024), "huge.pdf", "application", "pdf")  # 50 MB as base64
    assert len(big) >= 50 * 1000 * 1000
    (tmp_path / "a-huge.eml").write_bytes(big)
    for name, raw in cases().items():
        (tmp_path / f"b-{name.replace(' ', '-').replace(',', '')}.eml").write_bytes(raw)
    good = make_receipt(random.Random(6), 600, member=members[0])
    (tmp_path / "z-good.eml").write_bytes(to_eml(good, "html"))
    outcomes = {path.name: import_mail_file(invoices.importer, path) for path in iter_mail_files([tmp_path])}
    huge = outcomes["a-huge.eml"]
    assert (huge.status, huge.review_code) == ("review", "too_large")
    assert "MB, more than the 25 MB limit" in huge.reason
    assert outcomes["z-good.eml"].status == "queued"
    # Two readable ones (wrong charset, scripts) are one walk-in receipt: in review once, then a duplicate.
    assert {o.status for name, o in outcomes.items() if name.startswith("b-")} == {"review", "duplicate"}
    assert sum(o.status == "duplicate" for o in outcomes.values()) == 1
    stored = query(settings.database_path, "SELECT raw_size, length(raw_mail) FROM inbound_invoices WHERE id = ?",
                   (huge.invoice_id,))[0]
    assert stored[0] >= 50 * 1000 * 1000 and stored[1] < 100 * 1024
    count = query(settings.database_path, "SELECT count(*) FROM inbound_invoices")[0][0]
    assert count == len(outcomes), "every mail is recorded, none dropped"


def test_wrong_charset_is_still_read_when_the_text_is_utf8(invoices, members):
    receipt = make_receipt(random.Random(7), 700, member=members[1])
    raw = to_eml(receipt, "html").replace(b'charset="utf-8"', b'charset="x-unknown"')
    outcome = invoices.importer.process_mail(raw, FOLDER)
    assert outcome.status == "queued", outcome.reason


def test_chinese_malay_tamil_names_in_quoted_printable_and_base64(invoices, members):
    for number, (name, cte) in enumerate((("陈美玲", "quoted-printable"), ("Nurul Aisyah binti Ahmad", "base64"),
                                          ("கவிதா", "base64")), start=800):
        code, _name, mobile, email = members[number - 800]
        receipt = make_receipt(random.Random(number), number, member=(code, name, mobile, email))
        outcome = invoices.importer.process_mail(to_eml(receipt, "html", cte=cte), FOLDER)
        assert outcome.status == "queued", outcome.reason

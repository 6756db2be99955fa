"""Layouts are data: a fourth layout needs only a profile file; `frontdesk invoices check|import|review`."""
from __future__ import annotations

import json
import random
import textwrap
from email.message import EmailMessage
from pathlib import Path

import pytest

from devtools.invoice_corpus import make_receipt, to_eml
from frontdesk.app.cli import main
from frontdesk.invoices.importer import Origin
from frontdesk.invoices.profiles import ProfileError, load_profiles, parse_profile
from frontdesk.invoices.service import build_invoice_services
from frontdesk.invoices.settings import InvoiceSettings
from tests.invoices.conftest import query

MOBILE_PROFILE = textwrap.dedent(r'''
    # A fourth layout: the WESS mobile app's short receipt. Nothing but this file is needed to read it.
    name = "wess-mobile"
    source = "text"
    priority = 20

    [match]
    subject = '^Bill '
    markers = ["Bill#"]

    [fields]
    receipt_no = 'Bill#\s*(?P<value>\S+)'
    date = '^When:\s*(?P<value>.+)$'
    outlet = '^At:\s*(?P<value>.+)$'
    customer_mobile = '^HP:\s*(?P<value>.+)$'
    total = '^Amount due:\s*(?P<value>.+)$'
    gst = '^incl GST\s*(?P<value>\S+)$'

    [lines]
    start = '^Items$'
    end = '^Amount due'
    row = '^(?P<qty>\d+) x (?P<name>.+?) @ (?P<unit_price>[\d.]+) = (?P<amount>[\d.]+) \[(?P<staff>\w+)\]$'

    [payments]
    row = '^Paid (?P<method>\w+) (?P<amount>[\d.]+)$'

    [payments.methods]
    paynow = "nets"

    [gst]
    inclusive = 'incl GST'

    [dates]
    formats = ["%Y-%m-%d %H:%M"]
''')


def mobile_mail(number: int, mobile: str, when: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "app@wess.example"
    msg["Subject"] = f"Bill {number}"
    msg["Message-ID"] = f"<bill-{number}@wess.example>"
    msg.set_content(textwrap.dedent(f"""\
        Bill# M{number:05d}
        When: {when}
        At: Tampines Mall
        HP: {mobile}
        Items
        2 x Men's Cut @ 38.00 = 76.00 [Jason]
        1 x Argan Oil 50ml @ 39.90 = 39.90 [Priya]
        Amount due: 115.90
        incl GST 9.57
        Paid PayNow 115.90
        """))
    return bytes(msg)


def test_a_fourth_layout_needs_only_a_profile_file(engine, settings, members, tmp_path):
    from datetime import datetime, timedelta

    from devtools.invoice_corpus import SGT

    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "wess-mobile.toml").write_text(MOBILE_PROFILE, encoding="utf-8")
    config = InvoiceSettings(outlets=("TAMPINES",), profile_dirs=(folder,), default_staff="S01")
    services = build_invoice_services(engine, settings, config=config)
    try:
        assert [p.name for p in services.profiles][0] == "wess-mobile"
        when = (datetime.now(SGT) - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
        outcome = services.importer.process_mail(mobile_mail(1, members[0][2], when),
                                                 Origin(source="folder", mailbox="x"))
        assert outcome.status == "queued", outcome.reason
        assert query(settings.database_path, "SELECT total_minor, sales_mode FROM sales WHERE id = ?",
                     (outcome.sale_id,)) == [(11590, "invoice_mail")]
        # The bundled layouts still work beside it.
        receipt = make_receipt(random.Random(3), 3, member=members[1])
        assert services.importer.process_mail(to_eml(receipt, "html"), Origin(source="folder")).status == "queued"
    finally:
        services.close()


@pytest.mark.parametrize("broken, message", [
    ('name = "x"\nsource = "fax"', "source must be one of"),
    ('name = "x"\nsource = "text"\n[match]\nmarkers=["a"]\n[fields]\nreceipt_no = "(unclosed"', "not a valid regular"),
    ('name = "x"\nsource = "text"\n[match]\nmarkers=["a"]\n[fields]\nreceipt_no = "a"\ndate = "b"',
     "fields.total is required"),
    ('name = "x"\nsource = "text"\n[fields]\nreceipt_no = "a"', "would claim every mail"),
    ('name = "x"\nsource = "text"\n[match]\nmarkers=["a"]\n[fields]\nreceipt_no="a"\ndate="b"\ntotal="c"\n'
     '[lines]\nrow = "(?P<name>x)"', "(?P<amount>"),
    ('name = "x"\nsource = "text"\n[match]\nmarkers=["a"]\n[fields]\nreceipt_no="a"\ndate="b"\ntotal="c"\n'
     '[lines]\nrow = "(?P<name>x)(?P<amount>y)"\n[payments.methods]\nCash = "gold"', "must be one of cash"),
    ("not toml [", "not valid TOML"),
])
def test_a_broken_profile_names_the_file_and_the_key(broken, message):
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace("?", r"\?")):
        parse_profile(broken, Path("mine.toml"))


def test_bundled_profiles_load():
    assert {p.name for p in load_profiles()} == {"wess-html", "wess-text", "wess-pdf"}


def write_config(tmp_path: Path, db: Path, extra: str = "") -> Path:
    path = tmp_path / "frontdesk.toml"
    path.write_text(f'[store]\npath = "{db}"\n\n[counter]\noutlet = "TAMPINES"\n\n[invoices]\ndefault_staff = "S01"\n'
                    + extra, encoding="utf-8")
    return path


def test_check_shows_each_field_and_why_one_failed(tmp_path, capsys, members, settings):
    receipt = make_receipt(random.Random(4), 4, member=members[0])
    good = tmp_path / "good.eml"
    good.write_bytes(to_eml(receipt, "pdf"))
    config = write_config(tmp_path, settings.database_path)
    assert main(["invoices", "check", "--config", str(config), "--json", str(good)]) in (0, 1)
    report = json.loads(capsys.readouterr().out)
    assert report["profile"] == "wess-pdf"
    assert report["fields"]["receipt_no"]["value"] == receipt.receipt_no
    assert report["invoice"]["total"] == str(receipt.total)

    broken = tmp_path / "broken.eml"
    broken.write_bytes(to_eml(receipt, "html").replace(b"Receipt No:", b"Receipt Nr:"))
    assert main(["invoices", "check", "--config", str(config), "--json", "--profile", "wess-html",
                 str(broken)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert "marker" in report["match"]
    assert report["fields"]["receipt_no"]["value"] is None
    assert report["fields"]["receipt_no"]["error"] == "pattern did not match"
    assert any(p.startswith("receipt_no:") for p in report["problems"])


def test_import_then_review_json_with_the_reconciliation(tmp_path, capsys, members, settings):
    folder = tmp_path / "mail"
    folder.mkdir()
    for n in range(3):
        receipt = make_receipt(random.Random(n), 10 + n, member=members[n] if n < 2 else None)
        (folder / f"{n}.eml").write_bytes(to_eml(receipt, "html"))
    config = write_config(tmp_path, settings.database_path)
    code = main(["invoices", "import", "--config", str(config), "--json", str(folder)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [ln["status"] for ln in lines] == ["queued", "queued", "review"] and code == 1
    assert main(["invoices", "review", "--config", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["code"] for r in report["review"]] == ["no_member"]
    assert "reconciliation" in report and "items" in report["reconciliation"]


def test_fetch_without_a_mailbox_says_what_to_configure(tmp_path, capsys, settings):
    config = write_config(tmp_path, settings.database_path)
    assert main(["invoices", "fetch", "--once", "--config", str(config)]) == 2
    assert "[invoices.imap]" in capsys.readouterr().err


def test_fetch_once_from_dovecot_with_the_password_from_the_environment(tmp_path, capsys, members, settings, dovecot,
                                                                        monkeypatch):
    receipt = make_receipt(random.Random(9), 9, member=members[0])
    dovecot.append(to_eml(receipt, "text"))
    config = write_config(tmp_path, settings.database_path,
                          f'\n[invoices.imap]\nhost = "127.0.0.1"\nport = {dovecot.port}\nsecurity = "plain"\n'
                          'user = "frontdesk@salon.test"\n')
    monkeypatch.setenv("FRONTDESK_MAILBOX_PASSWORD", "secret123")
    assert main(["invoices", "fetch", "--once", "--config", str(config)]) == 0
    assert "1 queued" in capsys.readouterr().out


def test_plain_imap_to_another_host_is_refused(tmp_path, capsys, settings):
    config = write_config(tmp_path, settings.database_path,
                          '\n[invoices.imap]\nhost = "mail.example.com"\nsecurity = "plain"\nuser = "x"\n')
    assert main(["invoices", "fetch", "--once", "--config", str(config)]) == 2
    assert "plain (unencrypted) IMAP" in capsys.readouterr().err


def test_import_waits_for_no_one_when_the_counter_holds_the_database(tmp_path, capsys, members, settings):
    from frontdesk.store.writer import WriterLock

    (tmp_path / "a.eml").write_bytes(to_eml(make_receipt(random.Random(1), 1, member=members[0]), "html"))
    config = write_config(tmp_path, settings.database_path)
    with WriterLock(settings.database_path, "the counter app"):
        assert main(["invoices", "import", "--config", str(config), str(tmp_path / "a.eml")]) == 5
    assert "counter app" in capsys.readouterr().err
    assert query(settings.database_path, "SELECT count(*) FROM inbound_invoices")[0][0] == 0


TABLE_PDF_PROFILE = textwrap.dedent(r'''
    # A PDF whose items are a ruled table: read with pdfplumber's table finder.
    name = "pdf-table"
    source = "pdf"
    priority = 30

    [match]
    markers = ["SPA RECEIPT"]

    [fields]
    receipt_no = 'Receipt:\s*(?P<value>\S+)'
    date = 'Date:\s*(?P<value>\d{2}/\d{2}/\d{4} \d{2}:\d{2})'
    outlet = 'Outlet:\s*(?P<value>.+)$'
    customer_code = 'Member:\s*(?P<value>\S+)'
    total = 'TOTAL\s+(?P<value>\S+)$'
    gst = 'GST incl\.\s+(?P<value>\S+)$'

    [lines]
    header = ["Item", "Qty", "Amount"]

    [lines.columns]
    name = "Item"
    qty = "Qty"
    amount = "Amount"

    [payments]
    row = '^Paid (?P<method>\w+) (?P<amount>[\d.]+)$'

    [payments.methods]
    visa = "card"

    [gst]
    inclusive = 'GST incl'

    [dates]
    formats = ["%d/%m/%Y %H:%M"]
''')


def table_pdf_mail(code: str, when: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    for text in ("SPA RECEIPT", "Receipt: P000777", f"Date: {when}", "Outlet: Tampines Mall", f"Member: {code}"):
        pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    with pdf.table(col_widths=(90, 20, 30)) as table:
        for row in (("Item", "Qty", "Amount"), ("Aroma Massage 60min", "1", "128.00"), ("Body Scrub", "1", "90.00")):
            cells = table.row()
            for value in row:
                cells.cell(value)
    for text in ("TOTAL 218.00", "GST incl. 18.00", "Paid Visa 218.00"):
        pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    msg = EmailMessage()
    msg["From"] = "spa@wess.example"
    msg["Subject"] = "Your spa receipt"
    msg["Message-ID"] = "<table-1@wess.example>"
    msg.set_content("Receipt attached.")
    msg.add_attachment(bytes(pdf.output()), maintype="application", subtype="pdf", filename="receipt.pdf")
    return bytes(msg)


def test_a_pdf_table_layout_is_read_through_pdfplumber_tables(engine, settings, members, tmp_path):
    from datetime import datetime, timedelta

    from devtools.invoice_corpus import SGT

    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "pdf-table.toml").write_text(TABLE_PDF_PROFILE, encoding="utf-8")
    config = InvoiceSettings(outlets=("TAMPINES",), profile_dirs=(folder,), default_staff="S01")
    services = build_invoice_services(engine, settings, config=config)
    try:
        when = (datetime.now(SGT) - timedelta(hours=1)).strftime("%d/%m/%Y %H:%M")
        outcome = services.importer.process_mail(table_pdf_mail(members[2][0], when), Origin(source="folder"))
        assert outcome.status == "queued", outcome.reason
        items = query(settings.database_path, "SELECT name, total_minor FROM sale_items WHERE sale_id = ? ORDER BY "
                                              "line_no", (outcome.sale_id,))
        assert items == [("Aroma Massage 60min", 12800), ("Body Scrub", 9000)]
    finally:
        services.close()


def test_invoices_config_survives_a_save_and_bad_values_name_the_key():
    import tomllib

    from frontdesk.config import ConfigError, from_mapping, to_toml
    from frontdesk.invoices.settings import invoice_settings

    data = {"invoices": {"outlets": ["TAMPINES"], "default_staff": "S01", "window_days": 30,
                         "imap": {"host": "imap.example.com", "user": "r@salon.example", "security": "starttls",
                                  "port": 587, "idle": False}}}
    settings = from_mapping(data)
    assert tomllib.loads(to_toml(settings))["invoices"] == data["invoices"], "the setup wizard's save keeps it"
    config = invoice_settings(settings)
    assert (config.imap.security, config.imap.port, config.imap.idle, config.window_days) == ("starttls", 587,
                                                                                              False, 30)
    for bad, key in (({"window_days": 0}, "invoices.window_days"), ({"colour": "red"}, "invoices.colour"),
                     ({"imap": {"security": "ssl3"}}, "invoices.imap.security"),
                     ({"imap": {"idle_renew_seconds": 1800}}, "invoices.imap.idle_renew_seconds"),
                     ({"imap": {"port": "993"}}, "invoices.imap.port")):
        with pytest.raises(ConfigError) as raised:
            invoice_settings(from_mapping({"invoices": bad}))
        assert raised.value.key == key

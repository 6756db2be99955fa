"""WESS invoice mail: parse-and-validate throughput from a folder, full import throughput, and IMAP delivery time.

1. Parse and validate (read the .eml, MIME, pick the layout profile, extract, Decimal checks) a folder of mixed
   synthetic receipts (HTML table, plain text, PDF attachment), per layout and overall. Side by side: the same HTML
   receipts through BeautifulSoup's pure-Python "html.parser" builder instead of lxml, and the same PDFs through
   pdfplumber's `page.extract_text` (the path tables need) instead of pdfminer's own `extract_text`.
2. Import the folder into a demo database: checks, de-duplication, member linking and the sale written through
   the checkout with its outbox entry (what `frontdesk invoices import` does).
3. A mail appended to a real Dovecot on 127.0.0.1 until its sale is queued: IDLE, next to polling every second
   (the fallback). Needs dovecot installed (apt-get install dovecot-imapd).
Targets (issue 14): at least 50 mails/s parsed and validated from a folder; queued within 2 s of the append via IDLE.

    python benchmarks/bench_invoices.py              # 300 mails, 10 IMAP deliveries
    python benchmarks/bench_invoices.py --count 900 --deliveries 20
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore", message="Dimensions for page format")

from devtools.invoice_corpus import make_receipt, to_eml  # noqa: E402
from frontdesk.config import Settings  # noqa: E402
from frontdesk.demo.generator import build_demo_database  # noqa: E402
from frontdesk.invoices import extract as extract_module  # noqa: E402
from frontdesk.invoices.extract import Sources, choose_profile, extract  # noqa: E402
from frontdesk.invoices.importer import Origin  # noqa: E402
from frontdesk.invoices.mail import read_mail  # noqa: E402
from frontdesk.invoices.profiles import load_profiles  # noqa: E402
from frontdesk.invoices.service import build_invoice_services  # noqa: E402
from frontdesk.invoices.settings import InvoiceSettings  # noqa: E402
from frontdesk.invoices.validate import build_invoice, check_arithmetic, check_context  # noqa: E402
from frontdesk.store import make_engine  # noqa: E402

LAYOUTS = ("html", "text", "pdf")
OUTLETS = {"tampines": "TAMPINES", "tampines mall": "TAMPINES"}


def members(db: Path) -> list[tuple[str, str, str, str]]:
    import sqlite3

    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT member_no, display_name, phone_e164, email FROM members m WHERE status = 'active' "
                        "AND (SELECT count(*) FROM members o WHERE o.phone_e164 = m.phone_e164) = 1 LIMIT 200").fetchall()
    conn.close()
    return [(c, n, p, e) for c, n, p, e in rows]


def write_corpus(folder: Path, count: int, people: list[tuple[str, str, str, str]]) -> dict[str, list[Path]]:
    rng = random.Random(14)
    files: dict[str, list[Path]] = {layout: [] for layout in LAYOUTS}
    for i in range(count):
        layout = LAYOUTS[i % 3]
        receipt = make_receipt(rng, 10_000 + i, member=rng.choice(people), inclusive=layout != "pdf",
                               service_charge=layout == "pdf", redemption=rng.random() < 0.15)
        path = folder / f"{i:05d}-{layout}.eml"
        path.write_bytes(to_eml(receipt, layout))
        files[layout].append(path)
    return files


def parse_and_validate(paths: list[Path], profiles) -> float:  # type: ignore[no-untyped-def]
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    for path in paths:
        content = read_mail(path.read_bytes())
        sources = Sources(content)
        profile, _ = choose_profile(profiles, content, sources)
        assert profile is not None, path
        invoice, problems = build_invoice(extract(profile, sources), profile)
        problems += check_arithmetic(invoice, profile.gst_rate)
        problems += check_context(invoice, profile, now=now, window_days=35, outlet_names=OUTLETS)
        assert not problems, (path, problems)
    return len(paths) / (time.perf_counter() - started)


def html_parser_alternative(paths: list[Path], profiles) -> float:  # type: ignore[no-untyped-def]
    extract_module.HTML_PARSER = "html.parser"
    try:
        return parse_and_validate(paths, profiles)
    finally:
        extract_module.HTML_PARSER = "lxml"


def pdfplumber_alternative(paths: list[Path], profiles) -> float:  # type: ignore[no-untyped-def]
    """The whole parse-and-validate path with PDFs read by pdfplumber (as for a profile that reads a table)."""
    original = extract_module.pdf_source

    def through_pdfplumber(data: bytes, *, want_tables: bool, max_pages: int = 10):  # type: ignore[no-untyped-def]
        import io

        import pdfplumber

        with pdfplumber.open(io.BytesIO(data)) as pdf:
            text = "\n".join(page.extract_text() or "" for page in pdf.pages[:max_pages])
        return extract_module.SourceText(extract_module._clean_lines(text))

    extract_module.pdf_source = through_pdfplumber  # type: ignore[assignment]
    try:
        return parse_and_validate(paths, profiles)
    finally:
        extract_module.pdf_source = original  # type: ignore[assignment]


def full_import(db: Path, paths: list[Path]) -> tuple[float, dict[str, int]]:
    settings = replace(Settings(), database=str(db), outlet_code="TAMPINES", counter_id="C2")
    engine = make_engine(db)
    services = build_invoice_services(engine, settings, config=InvoiceSettings(outlets=("TAMPINES",),
                                                                                default_staff="S01"))
    counts: dict[str, int] = {}
    started = time.perf_counter()
    for path in paths:
        outcome = services.importer.process_mail(path.read_bytes(), Origin(source="folder", mailbox=str(path)))
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    rate = len(paths) / (time.perf_counter() - started)
    services.close()
    engine.dispose()
    return rate, counts


def imap_latency(db: Path, people: list[tuple[str, str, str, str]], deliveries: int, *, idle: bool) -> list[float]:
    import sqlite3

    from frontdesk.invoices.imap import MailboxWatcher
    from tests.invoices.conftest import PASSWORD, start_dovecot

    server = start_dovecot()
    settings = replace(Settings(), database=str(db), outlet_code="TAMPINES", counter_id="C2")
    engine = make_engine(db)
    imap = server.imap(idle=idle, poll_seconds=1.0 if not idle else 60.0)  # 60 s: the default fallback check
    services = build_invoice_services(engine, settings, config=InvoiceSettings(outlets=("TAMPINES",),
                                                                                default_staff="S01", imap=imap))
    watcher = MailboxWatcher(services.importer, imap, PASSWORD)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    latencies = []
    rng = random.Random(2 if idle else 3)
    try:
        while watcher.status.mode not in ("idle", "poll"):
            time.sleep(0.01)
        for i in range(deliveries):
            receipt = make_receipt(rng, (50_000 if idle else 60_000) + i, member=rng.choice(people))
            started = time.perf_counter()
            server.append(to_eml(receipt, "html"))
            while True:
                conn = sqlite3.connect(db)
                done = conn.execute("SELECT count(*) FROM inbound_invoices WHERE receipt_no = ? AND status = "
                                    "'queued'", (receipt.receipt_no,)).fetchone()[0]
                conn.close()
                if done:
                    break
                time.sleep(0.005)
            latencies.append(time.perf_counter() - started)
            time.sleep(rng.uniform(0.05, 0.3))
    finally:
        stop.set()
        thread.join(10)
        services.close()
        engine.dispose()
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--deliveries", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fd-bench-invoices-"))
    try:
        db = work / "counter.sqlite"
        build_demo_database(db, members=2000, seed=7, history_members=0)
        people = members(db)
        folder = work / "mail"
        folder.mkdir()
        files = write_corpus(folder, args.count, people)
        every = sorted(p for paths in files.values() for p in paths)
        profiles = load_profiles()
        parse_and_validate(every[:9], profiles)  # warm imports and caches
        print(f"1. parse and validate {len(every)} mails from a folder")
        overall = parse_and_validate(every, profiles)
        print(f"   all layouts          {overall:8.1f} mails/s   (target >= 50)")
        rates = {layout: parse_and_validate(files[layout], profiles) for layout in LAYOUTS}
        for layout in LAYOUTS:
            print(f"   {layout:<20} {rates[layout]:8.1f} mails/s")
        alt_html = html_parser_alternative(files["html"], profiles)
        print(f"   html via html.parser {alt_html:8.1f} mails/s   (lxml is {rates['html'] / alt_html:.2f}x)")
        alt_pdf = pdfplumber_alternative(files["pdf"], profiles)
        print(f"   pdf via pdfplumber   {alt_pdf:8.1f} mails/s   (pdfminer directly is {rates['pdf'] / alt_pdf:.2f}x)")
        rate, counts = full_import(db, every)
        print(f"2. import into the counter database: {rate:.1f} mails/s  {counts}")
        if shutil.which("dovecot") or Path("/usr/sbin/dovecot").exists():
            idle = imap_latency(db, people, args.deliveries, idle=True)
            poll = imap_latency(db, people, args.deliveries, idle=False)
            print(f"3. append -> queued, {args.deliveries} mails each (target <= 2 s via IDLE)")
            print(f"   IDLE                 median {statistics.median(idle):.3f} s  max {max(idle):.3f} s")
            print(f"   polling every 1 s    median {statistics.median(poll):.3f} s  max {max(poll):.3f} s  "
                  f"(IDLE is {statistics.median(poll) / statistics.median(idle):.1f}x faster)")
        else:
            print("3. skipped: dovecot is not installed (apt-get install dovecot-imapd)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`frontdesk invoices fetch|import|check|review|password`: the invoice-mail tools for IT and managers.

- fetch [--once]: read the configured IMAP mailbox (once, or watching with IDLE until Ctrl+C);
- import FILE_OR_DIR...: .eml files (folders are searched for *.eml) and WESS sales CSV exports;
- check FILE.eml [--profile NAME] [--json]: what a profile extracts and why a field failed (writes nothing);
- review [--json] [--day YYYY-MM-DD]: the mails waiting for a manager and the day's reconciliation;
- password: store the mailbox password in the OS keyring.
Exit codes: 0 done, 1 something went to review (import/fetch) or failed (check), 2 usage or configuration, 5 the
database is held by another writer (the counter app: it reads the mailbox itself once wired to do so).
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
import threading
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any


def add_invoices_command(sub: Any, add_common: Any) -> None:
    parser = sub.add_parser("invoices", help="WESS invoice mail: fetch, import, check layouts, review")
    actions = parser.add_subparsers(dest="invoices_command", required=True)
    fetch = actions.add_parser("fetch", help="read the invoice mailbox")
    add_common(fetch)
    fetch.add_argument("--once", action="store_true", help="one pass, then exit (default: keep watching)")
    imp = actions.add_parser("import", help="import .eml files, folders of them, or WESS sales CSV exports")
    add_common(imp)
    imp.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    imp.add_argument("--outlet", help="outlet of a CSV export (default: this counter's)")
    imp.add_argument("--json", action="store_true", help="one JSON line per receipt")
    check = actions.add_parser("check", help="show what a layout profile extracts from a mail, and why not")
    add_common(check)
    check.add_argument("files", nargs="+", metavar="FILE.eml")
    check.add_argument("--profile", help="try only this profile")
    check.add_argument("--profiles-dir", action="append", default=[], metavar="DIR",
                       help="also load the profiles in DIR (a profile being written)")
    check.add_argument("--json", action="store_true")
    review = actions.add_parser("review", help="mails waiting for a manager, and the day's reconciliation")
    add_common(review)
    review.add_argument("--json", action="store_true")
    review.add_argument("--day", help="the day to reconcile, YYYY-MM-DD (default: today)")
    password = actions.add_parser("password", help="store the mailbox password in the OS keyring")
    add_common(password)


def cmd_invoices(args: argparse.Namespace, settings: Any) -> int:
    """`settings`: the effective configuration, read by the app's command line (file and flags)."""
    from frontdesk.invoices.profiles import ProfileError

    try:
        if args.invoices_command == "check":
            return _check(args, settings)
        if args.invoices_command == "password":
            return _password(settings)
        return _with_database(args, settings)
    except ProfileError as error:
        print(f"Layout profile problem — {error}", file=sys.stderr)
        return 2


def _with_database(args: argparse.Namespace, settings: Any) -> int:
    from frontdesk.invoices.service import build_invoice_services
    from frontdesk.store import make_engine
    from frontdesk.store.db import upgrade_database
    from frontdesk.store.writer import DatabaseBusy, WriterLock

    writer = None
    if args.invoices_command in ("import", "fetch"):
        writer = WriterLock(settings.database_path, f"`frontdesk invoices {args.invoices_command}`")
        try:
            writer.acquire()
        except DatabaseBusy as busy:
            print(busy, file=sys.stderr)
            return 5
    upgrade_database(settings.database_path)
    engine = make_engine(settings.database_path)
    services = build_invoice_services(engine, settings)
    try:
        if args.invoices_command == "import":
            return _import(args, settings, services)
        if args.invoices_command == "fetch":
            return _fetch(args, services)
        return _review(args, settings, services, engine)
    finally:
        services.close()
        engine.dispose()
        if writer is not None:
            writer.release()


def _print_outcome(label: str, outcome: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"source": label, "status": outcome.status, "invoice_id": outcome.invoice_id,
                          "review_code": outcome.review_code, "reason": outcome.reason, "sale_id": outcome.sale_id},
                         ensure_ascii=False))
    else:
        extra = f" ({outcome.review_code}: {outcome.reason})" if outcome.in_review else (
            f" — {outcome.reason}" if outcome.reason else "")
        print(f"{label}: {outcome.status}{extra}")


def _import(args: argparse.Namespace, settings: Any, services: Any) -> int:
    from frontdesk.invoices.sources import import_mail_file, import_wess_csv, iter_mail_files

    counts: Counter[str] = Counter()
    for path in iter_mail_files(Path(p) for p in args.paths):
        if not path.exists():
            print(f"{path}: no such file", file=sys.stderr)
            counts["missing"] += 1
            continue
        if path.suffix.lower() == ".csv":
            try:
                outcomes = import_wess_csv(services.importer, path, (args.outlet or settings.outlet_code).upper())
            except ValueError as error:
                print(f"{path}: {error}", file=sys.stderr)
                counts["missing"] += 1
                continue
            for outcome in outcomes:
                _print_outcome(f"{path.name}", outcome, args.json)
                counts[outcome.status] += 1
            continue
        outcome = import_mail_file(services.importer, path)
        _print_outcome(str(path), outcome, args.json)
        counts[outcome.status] += 1
    if not args.json:
        print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to import")
    return 1 if counts["review"] or counts["missing"] else 0


def _fetch(args: argparse.Namespace, services: Any) -> int:
    from frontdesk.invoices.imap import MailboxError, MailboxWatcher
    from frontdesk.logs import register_secret
    from frontdesk.secrets import MAILBOX_ENV_VAR, get_mailbox_password

    imap = services.config.imap
    if not imap.configured:
        print("No invoice mailbox configured: set [invoices.imap] host and user in the config file.",
              file=sys.stderr)
        return 2
    password = get_mailbox_password(imap.account)
    if not password:
        print(f"No password for {imap.account}: run `frontdesk invoices password` (or set {MAILBOX_ENV_VAR}).",
              file=sys.stderr)
        return 2
    register_secret(password)
    watcher = MailboxWatcher(services.importer, imap, password,
                             on_outcome=lambda o: _print_outcome(f"mail #{o.invoice_id}", o, False))
    if args.once:
        try:
            outcomes = watcher.run_once()
        except (MailboxError, OSError) as error:
            print(f"Mailbox problem — {error}", file=sys.stderr)
            return 2
        counts = Counter(o.status for o in outcomes)
        print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no new mail")
        return 1 if counts["review"] else 0
    stop = threading.Event()
    print(f"Watching {imap.account}/{imap.folder} (Ctrl+C to stop)")
    try:
        watcher.run(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


def _check(args: argparse.Namespace, settings: Any) -> int:
    from frontdesk.invoices.extract import ExtractionFailed, Sources, choose_profile, extract
    from frontdesk.invoices.mail import read_mail
    from frontdesk.invoices.profiles import load_profiles
    from frontdesk.invoices.settings import invoice_settings
    from frontdesk.invoices.validate import build_invoice, check_arithmetic

    config = invoice_settings(settings)
    profiles = load_profiles(list(config.profile_dirs) + [Path(d) for d in args.profiles_dir])
    if args.profile and args.profile not in {p.name for p in profiles}:
        print(f"No profile named {args.profile} (have: {', '.join(p.name for p in profiles)})", file=sys.stderr)
        return 2
    failed = False
    for name in args.files:
        path = Path(name)
        report: dict[str, Any] = {"file": str(path)}
        try:
            content = read_mail(path.read_bytes(), max_attachments=config.max_attachments)
        except OSError as error:
            report["error"] = f"cannot be read ({error.strerror or error})"
            failed = True
            _report(report, args.json)
            continue
        report.update({"message_id": content.message_id, "sender": content.sender, "subject": content.subject,
                       "notes": content.notes, "attachments": content.attachments})
        if content.fatal:
            report["error"] = content.fatal
            failed = True
            _report(report, args.json)
            continue
        sources = Sources(content, config.max_pdf_pages)
        try:
            profile, reasons = choose_profile(profiles, content, sources, only=args.profile)
            report["profiles_tried"] = reasons
            if profile is None and args.profile:
                # Show what the named profile would extract even though its [match] rules say no.
                profile = next(p for p in profiles if p.name == args.profile)
                report["match"] = f"does not match: {reasons.get(profile.name)}; extracting anyway"
            if profile is None:
                report["error"] = "no profile fits this mail"
                failed = True
            else:
                extraction = extract(profile, sources)
                invoice, problems = build_invoice(extraction, profile, settings.phone_region)
                problems += check_arithmetic(invoice, profile.gst_rate)
                report["profile"] = profile.name
                report["fields"] = extraction.as_dict()["fields"]
                report["lines"] = extraction.lines
                report["lines_error"] = extraction.lines_error
                report["payments"] = extraction.payments
                report["invoice"] = invoice.to_json()
                report["problems"] = [p.text() for p in problems]
                failed = failed or bool(problems)
        except ExtractionFailed as error:
            report["error"] = str(error)
            failed = True
        _report(report, args.json)
    return 1 if failed else 0


def _report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"== {report['file']}")
    if report.get("error"):
        print(f"  error: {report['error']}")
    for name, why in (report.get("profiles_tried") or {}).items():
        print(f"  profile {name}: {why}")
    if "profile" in report:
        print(f"  profile: {report['profile']}")
        for name, trace in report["fields"].items():
            shown = trace["value"] if trace["value"] is not None else f"— {trace['error']} /{trace['pattern']}/"
            print(f"    {name:<16} {shown}")
        print(f"  lines: {len(report['lines'])}" + (f" ({report['lines_error']})" if report["lines_error"] else ""))
        for line in report["lines"]:
            print("    " + " | ".join(f"{k}={v}" for k, v in line.items()))
        for method, amount in report["payments"]:
            print(f"  payment {method}: {amount}")
        for problem in report["problems"]:
            print(f"  problem: {problem}")
        if not report["problems"]:
            print("  ok: the receipt adds up")


def _review(args: argparse.Namespace, settings: Any, services: Any, engine: Any) -> int:
    from frontdesk.invoices.reconcile import reconcile_day

    try:
        day = date.fromisoformat(args.day) if args.day else datetime.now(settings.zone).date()
    except ValueError:
        print("--day must be YYYY-MM-DD", file=sys.stderr)
        return 2
    items = services.review.review_list()
    reconciliation = reconcile_day(engine, day, settings.outlet_code, settings.zone)
    if args.json:
        print(json.dumps({
            "review": [{"id": i.id, "code": i.code, "label": i.label, "reason": i.reason,
                        "received_at": i.received_at.isoformat(),
                        "occurred_at": i.occurred_at.isoformat() if i.occurred_at else None,
                        "outlet": i.outlet_code, "receipt_no": i.receipt_no,
                        "total": i.total.plain() if i.total else None, "customer": i.customer,
                        "sender": i.sender, "subject": i.subject, "profile": i.profile} for i in items],
            "reconciliation": reconciliation.to_json(),
        }, ensure_ascii=False, indent=2))
        return 0
    print(f"{len(items)} mail(s) in review")
    for i in items:
        print(f"  #{i.id} {i.receipt_no or '(no receipt no.)':<14} {i.label}: {i.reason[:100]}")
    print(f"Reconciliation {day} at {settings.outlet_code}: {reconciliation.wess_receipts} WESS receipts, "
          f"{reconciliation.loyalty_sales} loyalty sales, {len(reconciliation.blockers)} blockers, "
          f"{len(reconciliation.warnings)} warnings")
    for item in reconciliation.items:
        print(f"  [{item.severity}] {item.message}")
    return 0


def _password(settings: Any) -> int:
    from frontdesk.invoices.settings import invoice_settings
    from frontdesk.secrets import SecretStoreUnavailable, set_mailbox_password

    imap = invoice_settings(settings).imap
    if not imap.configured:
        print("Configure [invoices.imap] host and user first.", file=sys.stderr)
        return 2
    password = getpass.getpass(f"Password for {imap.account}: ")
    try:
        set_mailbox_password(imap.account, password)
    except (SecretStoreUnavailable, ValueError) as error:
        print(str(error), file=sys.stderr)
        return 2
    print("Stored in the OS keyring.")
    return 0

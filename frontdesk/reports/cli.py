"""`frontdesk day`: the manager's day for IT and accountants.

    frontdesk day [--date YYYY-MM-DD] [--outlet CODE|all] [--counter ID|all] --json     every figure, as JSON
    frontdesk day ... --csv PATH      the day's sales (PATH) and lines (PATH-lines.csv)
    frontdesk day ... --pdf PATH      the day report (X report, or Z once closed)
    frontdesk day close --date D [--manager CODE] [--override REASON]

The scope is this counter's outlet and counter unless told otherwise ("all" for every one). `close` lists the
blockers and exits 1 when the day cannot close; otherwise it asks for the manager's PIN (from the terminal, or one
line on standard input when it is not a terminal) and closes. Exit codes: 0 done, 1 refused, 2 bad input.

The PDF needs Qt's painter: the caller (frontdesk.cli) hands in the writer, so this module stays Qt-free.
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from frontdesk.reports.close import ACTION_WORDS, DayActionRefused, DayState, close_day, day_state, describe_state
from frontdesk.reports.day import DayScope, Home
from frontdesk.reports.export import write_csv

PdfWriter = Callable[[DayState, Path], Path]


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}” is not a date like 2026-11-23") from None


def add_day_command(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    day = sub.add_parser("day", help="the manager's day: totals (--json), exports (--csv, --pdf), close")
    add_common(day)
    day.add_argument("action", nargs="?", choices=("show", "close"), default="show",
                     help="show (default) or close the day")
    day.add_argument("--date", type=_iso_date, help="the day, YYYY-MM-DD (default: today in the shop's zone)")
    day.add_argument("--outlet", help="outlet code, or 'all' (default: this counter's outlet)")
    day.add_argument("--counter", help="counter id, or 'all' (default: this counter)")
    day.add_argument("--json", action="store_true", help="print every total as JSON")
    day.add_argument("--csv", metavar="PATH", help="write the sales CSV here and the lines CSV beside it")
    day.add_argument("--pdf", metavar="PATH", help="write the PDF day report here")
    day.add_argument("--manager", metavar="CODE", help="close: the approving manager's staff code")
    day.add_argument("--override", metavar="REASON", help="close: close despite the blockers, for this reason")


def scope_from_args(args: argparse.Namespace, settings: Any) -> tuple[DayScope, Home]:
    home = Home(outlet=settings.outlet_code, counter=settings.counter_id, zone=settings.zone,
                currency=settings.currency)
    day = args.date or datetime.now(settings.zone).date()

    def pick(value: str | None, default: str) -> str:
        if value is None:
            return default
        return "" if value.strip().lower() == "all" else value.strip()

    return DayScope(day=day, outlet=pick(args.outlet, home.outlet), counter=pick(args.counter, home.counter)), home


def _summary(state: DayState) -> str:
    t = state.report.totals
    d = t.to_dict()
    lines = [f"Day {state.report.scope.label()} — {describe_state(state)}",
             f"  Sales {d['sales']['count']} · gross {d['sales']['gross']} · voids {d['voids']['amount']} · "
             f"refunds {d['refunds']['amount']} · net {d['net']} {t.currency}",
             f"  Points issued {t.points_issued:,} · redeemed {t.points_redeemed:,} · net {t.points_net:+,}",
             "  Sync " + " · ".join(f"{k.replace('_', ' ')} {v}" for k, v in d["sync"].items()
                                    if k != "oldest_unsynced")]
    return "\n".join(lines)


def _print_blockers(state: DayState, out: Any) -> None:
    print(f"The day cannot close: {len(state.blockers)} item(s) to resolve", file=out)
    for blocker in state.blockers:
        actions = " / ".join(ACTION_WORDS[a] for a in blocker.actions)
        print(f"  - {blocker.text}  → {actions}", file=out)
    _print_warnings(state, out)


def _print_warnings(state: DayState, out: Any) -> None:
    if state.warnings:
        print(f"Warnings ({len(state.warnings)}, they do not block the close):", file=out)
        for warning in state.warnings:
            print(f"  - {warning}", file=out)


def _read_pin(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def cmd_day(args: argparse.Namespace, settings: Any, engine: Any, pdf_writer: Callable[[], PdfWriter] | None) -> int:
    from frontdesk.staff.service import StaffService

    scope, home = scope_from_args(args, settings)
    state = day_state(engine, scope, home)
    if args.action == "close":
        if state.closed:
            print(f"{scope.label()} is already closed ({describe_state(state)})", file=sys.stderr)
            return 1
        if state.blockers and not args.override:
            _print_blockers(state, sys.stdout)
            return 1
        staff = StaffService(engine)
        managers = {person.code.casefold(): person for person in staff.list_staff(managers_only=True)}
        if not managers:
            print("No manager is set up on this counter", file=sys.stderr)
            return 2
        code = (args.manager or (next(iter(managers)) if len(managers) == 1 else "")).casefold()
        if code not in managers:
            print("Say which manager approves the close: --manager " + " | ".join(
                person.code for person in managers.values()), file=sys.stderr)
            return 2
        manager = managers[code]
        pin = _read_pin(f"PIN for {manager.name}: ")
        try:
            record = close_day(engine, scope, home, staff, manager_id=manager.id, pin=pin,
                               override_reason=args.override)
        except DayActionRefused as refused:
            if refused.blockers:
                state.blockers = refused.blockers
                _print_blockers(state, sys.stdout)
            for message in refused.errors.values():
                print(message, file=sys.stderr)
            return 1
        state = day_state(engine, scope, home)
        _print_warnings(state, sys.stdout)
        when = record.closed_at.astimezone(home.zone).strftime("%H:%M")
        print(f"Closed {scope.label()} at {when} by {manager.name}"
              + (f" (override: {record.override_reason})" if record.override_reason else ""))
    wrote_something = False
    if args.csv:
        sales_path, lines_path = write_csv(state.report, Path(args.csv))
        print(f"wrote {sales_path} and {lines_path}", file=sys.stderr)
        wrote_something = True
    if args.pdf:
        if pdf_writer is None:
            print("PDF export is not available in this build", file=sys.stderr)
            return 2
        path = pdf_writer()(state, Path(args.pdf))
        print(f"wrote {path}", file=sys.stderr)
        wrote_something = True
    if args.json:
        payload = state.report.totals.to_dict()
        payload["day"] = {"closed": state.closed, "state": describe_state(state),
                          "blockers": [b.to_dict() for b in state.blockers],
                          "close": None if state.close is None else {
                              "closed_at": state.close.closed_at.isoformat(timespec="seconds"),
                              "closed_by": state.close.closed_by, "override_reason": state.close.override_reason},
                          "after_close": [{"what": a.what, "at_close": a.closed, "now": a.now, "text": a.text}
                                          for a in state.after_close()]}
        payload["reconciliation"] = None if state.reconciliation is None else state.reconciliation.to_json()
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    elif not wrote_something and args.action == "show":
        print(_summary(state))
    return 0

"""`frontdesk staff ...`: IT sets up who may sign in, without the app open.

    frontdesk staff list [--all] [--json]
    frontdesk staff add --code S01 --name "Mei Tan" --role manager      (PIN asked twice, not echoed)
    frontdesk staff set-pin S01                                         (PIN asked twice, not echoed)
    frontdesk staff deactivate S01 / frontdesk staff activate S01
    frontdesk staff rename S01 "Mei Tan-Lim" / frontdesk staff set-role S01 receptionist
    frontdesk staff import staff.csv                                    (code,name,role[,pin][,active])

`--pin-stdin` reads the PIN from the first line of standard input instead (scripts, remote shells). Commands that
change something hold the database's `WriterLock`, so they never race an open counter; each change is audited as
made from the command line by this OS account. Exit codes: 0 done, 1 refused (the message says why), 5 the database
is busy, 6-8 the database or its disk cannot be used (see `frontdesk.store.health`).
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

EXIT_REFUSED = 1
EXIT_BUSY = 5


class PinEntryError(ValueError):
    pass


def add_staff_command(subparsers: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = subparsers.add_parser("staff", help="list, add and change staff and their PINs (audited)")
    sub = parser.add_subparsers(dest="staff_command", metavar="{list,add,set-pin,deactivate,activate,rename,"
                                                              "set-role,import}")
    sub.required = True
    listing = sub.add_parser("list", help="the staff on this counter")
    add_common(listing)
    listing.add_argument("--all", action="store_true", help="include deactivated staff")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")

    add = sub.add_parser("add", help="add a staff member with a PIN")
    add_common(add)
    add.add_argument("--code", required=True, help="the staff id WESS prints on receipts, e.g. S01")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=("receptionist", "manager"))
    add.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input")

    set_pin = sub.add_parser("set-pin", help="set or reset a staff member's PIN (also unlocks it)")
    add_common(set_pin)
    set_pin.add_argument("code")
    set_pin.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input")

    for name, text in (("deactivate", "stop a staff member signing in (their sales stay theirs)"),
                       ("activate", "let a deactivated staff member sign in again")):
        command = sub.add_parser(name, help=text)
        add_common(command)
        command.add_argument("code")

    rename = sub.add_parser("rename", help="change a staff member's name")
    add_common(rename)
    rename.add_argument("code")
    rename.add_argument("name")

    set_role = sub.add_parser("set-role", help="make a staff member a receptionist or a manager")
    add_common(set_role)
    set_role.add_argument("code")
    set_role.add_argument("role", choices=("receptionist", "manager"))

    importing = sub.add_parser("import", help="add or update staff from a CSV file (all rows or none)")
    add_common(importing)
    importing.add_argument("file", metavar="CSV", help="columns code,name,role and optionally pin,active")


def read_pin(from_stdin: bool, *, stdin: TextIO | None = None, prompt: Callable[[str], str] = getpass.getpass
             ) -> str:
    """The PIN, typed twice without echo, or the first line of stdin with `--pin-stdin`."""
    stdin = stdin or sys.stdin
    if from_stdin:
        line = stdin.readline()
        if not line.strip():
            raise PinEntryError("--pin-stdin: standard input was empty; send the PIN as its first line")
        return line.strip()
    if stdin is None or not stdin.isatty():
        raise PinEntryError("no terminal to type the PIN in: use --pin-stdin and send the PIN on standard input")
    first = prompt("PIN (4-8 digits, not shown): ")
    second = prompt("The same PIN again: ")
    if first != second:
        raise PinEntryError("the two PINs differ; nothing was changed")
    return first


def _actor() -> Any:
    from frontdesk.staff.admin import Actor

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in the environment is not a reason to refuse
        user = ""
    return Actor(staff_id=None, via="command line", os_user=user)


def _print_records(records: list[Any], as_json: bool, out: TextIO) -> None:
    if as_json:
        for r in records:
            print(json.dumps({"code": r.code, "name": r.name, "role": r.role, "active": r.active,
                              "pin_set": r.has_pin, "locked": r.locked}, ensure_ascii=False), file=out)
        return
    if not records:
        print("No staff yet. Add the first manager: frontdesk staff add --code S01 --name \"Your Name\" "
              "--role manager", file=out)
        return
    for r in records:
        flags = [] if r.active else ["deactivated"]
        if not r.has_pin:
            flags.append("no PIN")
        if r.locked:
            flags.append("PIN locked")
        print(f"{r.code:<10} {r.name:<30} {r.role:<13} {', '.join(flags)}".rstrip(), file=out)


def cmd_staff(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None,
              stdin: TextIO | None = None) -> int:
    from frontdesk.app.config_cli import settings_from_args
    from frontdesk.staff.admin import StaffAdmin, StaffAdminError
    from frontdesk.store import make_engine
    from frontdesk.store.db import upgrade_database
    from frontdesk.store.health import check_database_writable
    from frontdesk.store.writer import DatabaseBusy, WriterLock

    out, err = out or sys.stdout, err or sys.stderr
    settings, _ = settings_from_args(args)
    path = settings.database_path
    command = args.staff_command
    if command == "list":
        if not path.exists():
            print(f"No counter database at {path} yet; `frontdesk staff add` creates it.", file=err)
            _print_records([], args.json, out)
            return 0
        upgrade_database(path)
        engine = make_engine(path)
        try:
            _print_records(StaffAdmin(engine).list_staff(include_inactive=args.all), args.json, out)
        finally:
            engine.dispose()
        return 0

    pin = None
    csv_text = ""
    try:
        if command in ("add", "set-pin"):
            pin = read_pin(args.pin_stdin, stdin=stdin)
        if command == "import":
            csv_text = _read_csv(Path(args.file))
    except PinEntryError as error:
        print(f"Not changed: {error}", file=err)
        return EXIT_REFUSED
    check_database_writable(path)
    try:
        with WriterLock(path, f"frontdesk staff {command}"):
            upgrade_database(path)
            engine = make_engine(path)
            try:
                return _change(StaffAdmin(engine), args, pin, csv_text, out)
            except StaffAdminError as error:
                print(f"Not changed: {error}", file=err)
                return EXIT_REFUSED
            finally:
                engine.dispose()
    except DatabaseBusy as busy:
        print(busy, file=err)
        return EXIT_BUSY


def _read_csv(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PinEntryError(f"cannot read {path} ({error.strerror or error})") from None
    for encoding in ("utf-8-sig", "cp1252"):  # Excel on Windows saves "CSV" in the ANSI code page
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PinEntryError(f"{path} is not text")


def _change(admin: Any, args: argparse.Namespace, pin: str | None, csv_text: str, out: TextIO) -> int:
    actor = _actor()
    command = args.staff_command
    if command == "add":
        record = admin.add(args.code, args.name, args.role, pin, actor)
        print(f"Added {record.name} ({record.code}) as {record.role}, with a PIN.", file=out)
    elif command == "set-pin":
        record = admin.set_pin(args.code, pin, actor)
        print(f"New PIN set for {record.name} ({record.code}); any PIN lock is cleared.", file=out)
    elif command in ("deactivate", "activate"):
        record = admin.set_active(args.code, command == "activate", actor)
        state = "can sign in again" if record.active else "can no longer sign in"
        print(f"{record.name} ({record.code}) {state}.", file=out)
    elif command == "rename":
        record = admin.update(args.code, actor, name=args.name)
        print(f"{record.code} is now {record.name}.", file=out)
    elif command == "set-role":
        record = admin.update(args.code, actor, role=args.role)
        print(f"{record.name} ({record.code}) is now a {record.role}.", file=out)
    elif command == "import":
        report = admin.import_csv(csv_text, actor)
        for problem in report.errors:
            print(problem, file=out)
        print(f"{args.file}: {report.summary()}", file=out)
        return 0 if report.ok else EXIT_REFUSED
    if admin.active_manager_count() == 0:
        print("Note: no active manager yet, so voids, refunds and staff changes at the counter cannot be approved."
              " Add one: frontdesk staff add --code M01 --name \"...\" --role manager", file=out)
    return 0

"""Command line: `frontdesk` starts the counter; subcommands are tools for IT and for benchmarks.

Heavy imports (Qt, OpenCV) happen inside the command that needs them, so `frontdesk search` and
`frontdesk --version` start in a fraction of a second.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from frontdesk import __version__


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="PATH", help="database file (default: the platform data directory)")
    parser.add_argument("--config", metavar="PATH", help="config file (default: the platform config directory)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frontdesk", description="Front Desk loyalty counter")
    parser.add_argument("--version", action="version", version=f"frontdesk {__version__}")
    _add_common(parser)
    parser.add_argument("--demo", action="store_true",
                        help="open on a demo database with a local demo loyalty server")
    sub = parser.add_subparsers(dest="command")

    demo = sub.add_parser("demo-data", help="create a database of realistic demo members")
    _add_common(demo)
    demo.add_argument("--members", type=int, default=300, help="how many members (default 300)")
    demo.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same members")
    demo.add_argument("--history", type=int, default=2000, help="members that get past sales (default 2000)")
    demo.add_argument("--queued-sales", type=int, default=0, metavar="N",
                      help="add N realistic counter sales waiting in the outbox (to an existing database, it "
                           "only adds them); they go to the loyalty server this counter is configured for")

    search = sub.add_parser("search", help="look members up the way the search box does")
    _add_common(search)
    search.add_argument("queries", nargs="+", metavar="QUERY")
    search.add_argument("--json", action="store_true", help="one JSON line per query")
    search.add_argument("--limit", type=int, default=20)

    scan = sub.add_parser("scan-image", help="decode QR codes in image files and say what they mean")
    _add_common(scan)
    scan.add_argument("files", nargs="+", metavar="FILE")
    scan.add_argument("--json", action="store_true", help="one JSON line per image")

    cameras = sub.add_parser("cameras", help="list the cameras this PC can open")
    _add_common(cameras)
    cameras.add_argument("--json", action="store_true")

    sync = sub.add_parser("sync", help="deliver queued sales to the loyalty API and refresh the member cache")
    _add_common(sync)
    sync.add_argument("--once", action="store_true", required=True,
                      help="drain the queue once, print a summary and exit (0: all sent)")

    restore = sub.add_parser("restore-backup", help="put the newest backup in place of a damaged database "
                                                    "(the damaged file is kept)")
    _add_common(restore)
    restore.add_argument("--backup", metavar="PATH", help="this backup instead of the newest one")

    setup = sub.add_parser("setup", help="run the setup wizard (API, outlet, counter, camera, region)")
    _add_common(setup)

    from frontdesk.app.config_cli import add_config_command
    from frontdesk.app.selftest import add_self_test_command
    from frontdesk.app.staff_cli import add_staff_command
    from frontdesk.reports.cli import add_day_command

    add_self_test_command(sub, _add_common)
    add_config_command(sub, _add_common)
    add_staff_command(sub, _add_common)
    add_day_command(sub, _add_common)
    from frontdesk.invoices.cli import add_invoices_command

    add_invoices_command(sub, _add_common)
    return parser


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from frontdesk.app.config_cli import settings_from_args

    return settings_from_args(args)[0]


def cmd_demo_data(args: argparse.Namespace) -> int:
    import time

    from frontdesk.demo.generator import build_demo_database

    settings = _settings(args)
    if args.members < 0:
        print("--members must be 0 or more", file=sys.stderr)
        return 2
    if args.queued_sales < 0:
        print("--queued-sales must be 0 or more", file=sys.stderr)
        return 2
    started = time.perf_counter()
    if not (args.queued_sales and settings.database_path.exists()):
        written = build_demo_database(settings.database_path, members=args.members, seed=args.seed,
                                      history_members=args.history)
        print(f"wrote {written} members to {settings.database_path} in {time.perf_counter() - started:.1f} s")
    if args.queued_sales:
        from frontdesk.demo.queued_sales import queue_demo_sales

        started = time.perf_counter()
        try:
            recorded = queue_demo_sales(settings, args.queued_sales, seed=args.seed)
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        target = settings.api_url or "no loyalty server configured: they stay on this PC"
        print(f"queued {recorded} sales in {time.perf_counter() - started:.1f} s; they go to {target}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from frontdesk.search import SearchService
    from frontdesk.store import make_read_engine
    from frontdesk.store.db import upgrade_database

    settings = _settings(args)
    if not settings.database_path.exists():
        print(f"no database at {settings.database_path} (create one with `frontdesk demo-data`)", file=sys.stderr)
        return 2
    upgrade_database(settings.database_path)
    service = SearchService(make_read_engine(settings.database_path), region=settings.phone_region)
    for query in args.queries:
        result = service.search(query, limit=args.limit)
        if args.json:
            print(json.dumps({
                "query": query,
                "kind": result.kind,
                "hint": result.hint,
                "results": [
                    {"id": h.id, "name": h.name, "phone": h.phone_e164, "email": h.email, "member_no": h.member_no,
                     "tier": h.tier_code, "points": h.points, "match": h.match}
                    for h in result.hits
                ],
            }, ensure_ascii=False))
        else:
            print(f"{query!r}: {result.kind}" + (f" — {result.hint}" if result.hint else ""))
            for h in result.hits:
                print(f"  {h.name:<30} {h.phone_display:<16} {h.email or '':<36} {h.member_no or '':<10} "
                      f"{h.tier_code or '':<9} {h.points:>7} pts  [{h.match}]")
    service.close()
    return 0


def cmd_scan_image(args: argparse.Namespace) -> int:
    from frontdesk.scan.cli import scan_image_main
    from frontdesk.scan.codes import ScanCodeRules

    settings = _settings(args)
    rules = ScanCodeRules(card_key=settings.member_card_key or None, phone_region=settings.phone_region)
    return scan_image_main(args.files, args.json, rules)


def cmd_cameras(args: argparse.Namespace) -> int:
    from frontdesk.scan.cli import cameras_main

    return cameras_main(args.json)


def cmd_sync(args: argparse.Namespace) -> int:
    from frontdesk.store.writer import DatabaseBusy, WriterLock
    from sync.cli import sync_once_main

    settings = _settings(args)
    try:
        with WriterLock(settings.database_path, "frontdesk sync --once"):
            return sync_once_main(settings)
    except DatabaseBusy as busy:
        print(busy, file=sys.stderr)
        return 5


def cmd_restore_backup(args: argparse.Namespace) -> int:
    from frontdesk.store.health import DatabaseDamaged, inspect_database, newest_backup, restore_backup
    from frontdesk.store.writer import WriterLock

    path = _settings(args).database_path
    try:
        inspect_database(path)
    except DatabaseDamaged:
        pass
    else:
        # A healthy database holds sales the backup does not: never swap it out.
        print(f"{path} is not damaged; nothing was changed (a backup would lose the sales made since it).",
              file=sys.stderr)
        return 1
    backup = Path(args.backup) if args.backup else newest_backup(path)
    if backup is None or not backup.exists():
        print(f"No backup of {path} was found; nothing was changed. Keep the damaged file for support.",
              file=sys.stderr)
        return 6
    with WriterLock(path, "frontdesk restore-backup"):
        kept = restore_backup(path, backup)
    print(f"Restored {path} from {backup.name}; the damaged file is kept as {kept.name}.")
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    from PySide6.QtWidgets import QApplication

    from frontdesk.ui.resources import stylesheet
    from frontdesk.ui.setup_wizard import run_setup_wizard

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyleSheet(stylesheet())
    saved = run_setup_wizard(config_path=Path(args.config) if args.config else None)
    print("Configuration saved." if saved else "Setup cancelled; nothing was changed.")
    wizard = getattr(run_setup_wizard, "last_wizard", None)
    if saved and wizard is not None and wizard.key_problem:
        from frontdesk.ui.setup_wizard import no_keyring_advice

        print(f"The API key was NOT stored: {no_keyring_advice()}")
    return 0 if saved else 1


def cmd_self_test(args: argparse.Namespace) -> int:
    from frontdesk.app.selftest import cmd_self_test as run

    return run(args)


def cmd_config(args: argparse.Namespace) -> int:
    from frontdesk.app.config_cli import cmd_config as run

    return run(args)


def cmd_day(args: argparse.Namespace) -> int:
    from frontdesk.reports.cli import cmd_day as run

    settings = _settings(args)
    if not settings.database_path.exists():
        print(f"no database at {settings.database_path}", file=sys.stderr)
        return 2
    if args.action == "close":  # it writes: one writer per database file, like `sync --once`
        from frontdesk.store.writer import DatabaseBusy, WriterLock

        try:
            with WriterLock(settings.database_path, "frontdesk day close"):
                return _run_day(run, args, settings)
        except DatabaseBusy as busy:
            print(busy, file=sys.stderr)
            return 5
    return _run_day(run, args, settings)


def _run_day(run, args: argparse.Namespace, settings) -> int:  # type: ignore[no-untyped-def]
    from frontdesk.store.db import open_database

    engine = open_database(settings.database_path)
    try:
        return run(args, settings, engine, _day_pdf_writer)
    finally:
        engine.dispose()


def _day_pdf_writer():  # type: ignore[no-untyped-def]
    from frontdesk.ui.day.pdf import headless_pdf_writer

    return headless_pdf_writer()


def cmd_staff(args: argparse.Namespace) -> int:
    from frontdesk.app.staff_cli import cmd_staff as run

    return run(args)


def cmd_invoices(args: argparse.Namespace) -> int:
    from frontdesk.invoices.cli import cmd_invoices as run

    return run(args, _settings(args))


COMMANDS = {
    "demo-data": cmd_demo_data,
    "search": cmd_search,
    "self-test": cmd_self_test,
    "sync": cmd_sync,
    "setup": cmd_setup,
    "restore-backup": cmd_restore_backup,
    "scan-image": cmd_scan_image,
    "cameras": cmd_cameras,
    "config": cmd_config,
    "day": cmd_day,
    "staff": cmd_staff,
    "invoices": cmd_invoices,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from frontdesk import config, logs
    from frontdesk.store.health import StorageProblem, describe_storage_error

    logging_problem = logs.setup_logging_or_explain()
    if logging_problem and args.command is not None:  # the app shows it in a dialog instead
        print(logging_problem, file=sys.stderr)
    try:
        if args.command is None:
            from frontdesk.app.main import run_app

            return run_app(args, logging_problem=logging_problem)
        return COMMANDS[args.command](args)
    except config.ConfigError as error:
        problems = error.problems
        path = getattr(args, "config", None) or config.default_config_path()
        heading = f"Configuration problem in {path}" + (f" ({len(problems)} settings)" if len(problems) > 1 else "")
        line = f"{heading}: " + "; ".join(f"{p.key}: {p.problem}" for p in problems)
        logging.getLogger("frontdesk.app.cli").error("%s", line)
        print(line, file=sys.stderr)
        return 2
    except StorageProblem as problem:
        print(problem, file=sys.stderr)
        return problem.exit_code
    except Exception as error:
        problem = describe_storage_error(error, _database_path(args))
        if problem is None:
            raise
        print(problem, file=sys.stderr)
        return problem.exit_code


def _database_path(args: argparse.Namespace) -> Path:
    from frontdesk import config

    if getattr(args, "db", None):
        return Path(args.db)
    try:
        return _settings(args).database_path
    except config.ConfigError:
        return config.data_dir() / "frontdesk.sqlite"


if __name__ == "__main__":
    sys.exit(main())

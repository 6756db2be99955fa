"""Command line: `frontdesk` starts the counter; subcommands are tools for IT and for benchmarks.

Heavy imports (Qt, OpenCV) happen inside the command that needs them, so `frontdesk search` and
`frontdesk --version` start in a fraction of a second.
"""
from __future__ import annotations

import argparse
import json
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

    setup = sub.add_parser("setup", help="run the setup wizard (API, outlet, counter, camera, region)")
    _add_common(setup)

    from frontdesk.app.config_cli import add_config_command
    from frontdesk.app.selftest import add_self_test_command

    add_self_test_command(sub, _add_common)
    add_config_command(sub, _add_common)
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
    started = time.perf_counter()
    written = build_demo_database(settings.database_path, members=args.members, seed=args.seed,
                                  history_members=args.history)
    print(f"wrote {written} members to {settings.database_path} in {time.perf_counter() - started:.1f} s")
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


def cmd_setup(args: argparse.Namespace) -> int:
    from PySide6.QtWidgets import QApplication

    from frontdesk.ui.resources import stylesheet
    from frontdesk.ui.setup_wizard import run_setup_wizard

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyleSheet(stylesheet())
    saved = run_setup_wizard(config_path=Path(args.config) if args.config else None)
    print("Configuration saved." if saved else "Setup cancelled; nothing was changed.")
    return 0 if saved else 1


def cmd_self_test(args: argparse.Namespace) -> int:
    from frontdesk.app.selftest import cmd_self_test as run

    return run(args)


def cmd_config(args: argparse.Namespace) -> int:
    from frontdesk.app.config_cli import cmd_config as run

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
    "scan-image": cmd_scan_image,
    "cameras": cmd_cameras,
    "config": cmd_config,
    "invoices": cmd_invoices,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from frontdesk import config, logs

    try:
        logs.setup_logging()
    except OSError as error:  # an unwritable log folder must not stop the counter
        print(f"Logging to file is off: {error}", file=sys.stderr)
    try:
        if args.command is None:
            from frontdesk.app.main import run_app

            return run_app(args)
        return COMMANDS[args.command](args)
    except config.ConfigError as error:
        print(f"Configuration problem — {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

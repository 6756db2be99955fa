"""Start-up and the command line: `main` (settings, the window, then the database and background sync), `wiring` (builds the
services a window uses), `cli` (`frontdesk ...` subcommands), `config_cli` (`frontdesk config ...`) and `selftest`.

The top of the dependency order: may import every other `frontdesk` package, `sync`, and `frontdesk.ui`; nothing
imports `frontdesk.app` except the entry points (`frontdesk.__main__`, `packaging/frontdesk_main.py`).
"""

"""The PySide6 screens: the only Front Desk code that imports Qt widgets.

`widgets/` holds the form pieces every dialog shares, `sales/` the sale's screens, `tasks.py` the task runner that
keeps I/O off the GUI thread. May import every feature package, `frontdesk.counter` and `sync` (the sync panel);
never `frontdesk.app` or `devtools`.
"""

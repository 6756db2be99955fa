"""PyInstaller runtime hook: let the windowed Windows exe print when started from a terminal.

`frontdesk.exe` is a GUI-subsystem program (no console window flashing up at the counter), so Windows gives it no
stdout. When IT types `frontdesk.exe --version` or `frontdesk.exe self-test` in a terminal, attach to that
terminal's console so the answer appears there. Started from the Start menu there is no parent console, and nothing
changes. `frontdesk-cli.exe`, the console twin in the same folder, never needs this.
"""
import sys

if sys.platform == "win32" and sys.stdout is None:
    import ctypes

    ATTACH_PARENT_PROCESS = -1
    if ctypes.windll.kernel32.AttachConsole(ATTACH_PARENT_PROCESS):
        sys.stdout = open("CONOUT$", "w", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
        sys.stderr = open("CONOUT$", "w", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115

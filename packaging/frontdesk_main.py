"""Entry point of the frozen app: PyInstaller starts here.

Not frontdesk/__main__.py, because PyInstaller puts the entry script's folder on the analysis path: frontdesk/ on
the path would let `frontdesk/secrets.py` shadow the standard library's `secrets` module in the bundle.
"""
import multiprocessing
import sys

from frontdesk.app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen Windows app re-executes itself for any multiprocessing child
    sys.exit(main())

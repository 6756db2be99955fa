"""Front Desk: the loyalty counter app that sits beside the WESS till."""
from __future__ import annotations


def __getattr__(name: str) -> str:
    # Read from the installed metadata on first use: importlib.metadata costs more at start-up than the main
    # window's own modules, and the window does not need the version to be painted.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("frontdesk")
        except PackageNotFoundError:  # running from a source tree that was never installed
            found = "0.0.0+source"
        globals()["__version__"] = found
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

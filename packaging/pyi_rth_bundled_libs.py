"""PyInstaller runtime hook: find the shared libraries we bundle (libzbar) on Linux and macOS.

pyzbar locates zbar with `ctypes.util.find_library("zbar")`, which on Linux asks `ldconfig` about the system and never
looks inside the bundle, so a PC without the system package could not scan with zbar even though the build carries
`libzbar.so.0`. This looks in the bundle first and falls back to the normal search. (On Windows pyzbar loads its
DLLs from its own folder, which the build fills, and PyInstaller already patches `find_library` there.)
"""
import sys

if getattr(sys, "frozen", False) and sys.platform != "win32":
    import ctypes.util
    import glob
    import os

    _system_find_library = ctypes.util.find_library

    def _find_library(name):
        patterns = (f"lib{name}.so*", f"lib{name}.*dylib", f"lib{name}.dylib")
        for pattern in patterns:
            for candidate in sorted(glob.glob(os.path.join(sys._MEIPASS, pattern))):
                if os.path.isfile(candidate):
                    return candidate
        return _system_find_library(name)

    ctypes.util.find_library = _find_library

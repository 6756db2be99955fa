"""Developer tools that are never part of the installed product: the reference loyalty server (demo, tests,
benchmarks) and the synthetic scan corpus.

May import anything of `frontdesk` and `sync`; nothing in `frontdesk` or `sync` imports this package (the demo
start-up looks for it by name and says how to install it when it is missing). Installed on its own with
`pip install -e ./devtools` (distribution `frontdesk-devtools`, which brings Flask and waitress).
"""

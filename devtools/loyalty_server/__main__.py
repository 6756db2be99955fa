"""`python -m devtools.loyalty_server`: the reference server in the foreground (prints its base URL first)."""
import sys

from devtools.loyalty_server.server import main

sys.exit(main())

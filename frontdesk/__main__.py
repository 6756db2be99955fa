import sys

from frontdesk.app.cli import main

sys.exit(main())

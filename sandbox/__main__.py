"""``python -m sandbox start|stop|status|repair DIR`` (see sandbox/core.py)."""

import sys

from sandbox.core import main

sys.exit(main())

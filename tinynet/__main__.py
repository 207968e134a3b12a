"""``python -m tinynet``: the command line (see tinynet.cli)."""

import sys

from .cli import main

sys.exit(main())

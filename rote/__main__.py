"""``python -m rote ...``: the same command line as the ``rote`` script."""

import sys

from .sims.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m bus ...`` runs the ``bus`` command line."""

import sys

from bus.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""DVC stage `ensemble`: a thin wrapper; the logic is `trainlab ensemble` (trainlab.cli)."""

import sys

from trainlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["ensemble", *sys.argv[1:]]))

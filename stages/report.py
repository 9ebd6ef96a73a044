"""DVC stage `report`: a thin wrapper; the logic is `trainlab report` (trainlab.cli.COMMANDS)."""

import sys

from trainlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["report", *sys.argv[1:]]))

"""DVC stage `prepare`: a thin wrapper; the logic is `trainlab prepare` (trainlab.cli.COMMANDS)."""

import sys

from trainlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["prepare", *sys.argv[1:]]))

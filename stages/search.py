"""DVC stage `search`: a thin wrapper; the logic is `trainlab search` (trainlab.cli.COMMANDS)."""

import sys

from trainlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["search", *sys.argv[1:]]))

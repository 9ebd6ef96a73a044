"""DVC stage `claims`: a thin wrapper; the logic is `trainlab claims` (trainlab.cli.COMMANDS)."""

import sys

from trainlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["claims", *sys.argv[1:]]))

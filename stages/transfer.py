"""DVC stage `transfer`: a thin wrapper; the logic is `trainlab transfer` (trainlab.cli)."""

import sys

from trainlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["transfer", *sys.argv[1:]]))

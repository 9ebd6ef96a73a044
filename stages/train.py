"""DVC stage `train`: a thin wrapper; the logic is `trainlab train` (see trainlab.cli.COMMANDS)."""

import sys

from trainlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))

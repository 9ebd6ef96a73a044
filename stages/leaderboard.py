"""DVC stage `leaderboard`: a thin wrapper; the logic is `trainlab leaderboard` (trainlab.cli)."""

import sys

from trainlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["leaderboard", *sys.argv[1:]]))

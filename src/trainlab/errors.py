"""The two kinds of failure a user can fix, and the exit codes the CLI gives them.

Every message states the file or key, the bad value, what is allowed and how to fix it.
"""


class TrainlabError(Exception):
    """Base class for errors the CLI reports as one clear line instead of a traceback."""

    exit_code = 1


class ConfigError(TrainlabError):
    """params.yaml, an override or a command-line argument is wrong (usage: exit code 2)."""

    exit_code = 2


class DataError(TrainlabError):
    """A dataset, prepared file or checkpoint is missing or unreadable (runtime: exit code 1)."""

    exit_code = 1


class TrainingError(TrainlabError):
    """A training diverged or could not run (runtime: exit code 1)."""

    exit_code = 1

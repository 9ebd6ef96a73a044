"""Ensembles of the search's top-k checkpoints (the lecture: average the predicted
probability distributions of independent models, then argmax).

`combine` holds the combinations, `metrics` the scores, `manifest` the search's contract,
`stage` the `trainlab ensemble` command.
"""

from trainlab.ensemble.combine import GreedySelection, greedy_select, majority_vote, mean_probs
from trainlab.ensemble.manifest import Manifest, Member, read_manifest
from trainlab.ensemble.metrics import accuracy, disagreement, expected_calibration_error, nll
from trainlab.ensemble.predict import Predictions, predict_members
from trainlab.ensemble.stage import add_arguments_ensemble, run_ensemble
from trainlab.ensemble.summary import summarize

__all__ = [
    "GreedySelection",
    "Manifest",
    "Member",
    "Predictions",
    "accuracy",
    "add_arguments_ensemble",
    "disagreement",
    "expected_calibration_error",
    "greedy_select",
    "majority_vote",
    "mean_probs",
    "nll",
    "predict_members",
    "read_manifest",
    "run_ensemble",
    "summarize",
]

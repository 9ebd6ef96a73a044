"""Ensembles of the search's top-k checkpoints (the lecture: average the predicted
probability distributions of independent models, then argmax).

- `manifest`: the search's list of kept checkpoints, read and checked
- `predict`: each member's probabilities, computed once and shared
- `combine`: mean probabilities, majority vote, greedy selection
- `metrics`: NLL, calibration (ECE) and diversity of probabilities
- `summary`: the ensemble report from cached predictions (no I/O)
- `summary_file`: reports/ensemble.json, typed (what the claims and the report read)
- `stage`: `trainlab ensemble`: `run_ensemble`, `add_arguments_ensemble`

Nothing is imported here: `trainlab.ensemble.metrics` loads without Lightning or MLflow.
"""

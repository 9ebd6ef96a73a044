"""The Optuna search over the grid of recipes (activation x regularization x augmentation).

- `grid`: cells, their ids and the config a trial trains
- `study`: the Optuna side: storage, sampler, pruner, the queue of trials and its recovery
- `runs`: the MLflow side: the parent run, the trials' run tags, ending lost trials' runs
  KILLED, the parent's results
- `objective`: one trial as an MLflow child run, its outcome told to Optuna
- `workers`: the worker loop, heartbeats, local worker processes
- `results`: the stage's files, typed: trial rows, search.json, the manifest
- `outputs`: trial table, summary, top-k checkpoints and manifest, filled from the study
- `queueing`: which (cell, seed) pairs a search trains, each enqueued exactly once
- `pipeline`: the coordinator as `SearchRun`, whose `run()` is its steps in order: recover,
  queue, train, race, write the outputs
- `stage`: `trainlab search` (coordinator and `--worker`): `run_search`,
  `add_arguments_search`

Nothing is imported here, so `trainlab.search.grid` and `.study` load without torch.
"""

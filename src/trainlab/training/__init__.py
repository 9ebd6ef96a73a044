"""Training one recipe (what `trainlab train` and every search trial run).

- `recipe`: the Lightning Trainer, early stopping, the best snapshot, the train-vs-test gap
  and the MLflow run of one training (`train_recipe`)
- `results`: reports/train.json, typed
- `stage`: `trainlab train`: `run_train`, `add_arguments_train`
"""

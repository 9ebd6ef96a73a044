"""Training one recipe (what `trainlab train` and every search trial run).

- `trainer`: the one Trainer factory (`build_trainer`): the MLflow logger, the best snapshot,
  early stopping; `fit`, `load_best`, `fit_best` (the two in order); used by the recipe and
  by transfer cells
- `recipe`: one recipe's data, module, best-snapshot evaluation, train-vs-test gap and
  MLflow run (`train_recipe`)
- `results`: reports/train.json, typed
- `stage`: `trainlab train`: `run_train`, `add_arguments_train`
"""

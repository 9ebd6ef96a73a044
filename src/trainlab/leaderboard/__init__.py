"""The headline comparison: the grid's best recipe, its ensembles and pretrained baselines on
the same task and test images (stage `leaderboard`).

- `stage`: `trainlab leaderboard`, the stage's entry: inputs, the MLflow run, the outputs
- `baselines`: ImageNet-pretrained linear probes and fine-tunes on fractions of the train split
- `recipe_curve`: the best recipe retrained on the same fractions
- `table`: rows, intervals, paired differences, crossovers (no I/O)
- `costs`: parameters and inference images per second
- `results`: the file's typed model (reports/leaderboard.json) and its DVC metrics
"""

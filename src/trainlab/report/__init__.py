"""The report stage: MLflow runs, stage files and the Optuna study -> HTML, Markdown, DVC files.

- `sources`: MLflow runs and the stage files' names; `study`: the Optuna study
- `trials`, `tables`, `baselines`: trial rows, recipe tables, ensemble and transfer results
  (the other stages' files are read through their writers' models)
- `inputs`: everything one report needs, gathered, with each stage that has not run
- `document`: the report as data (blocks, `Figure` included: rendering needs no matplotlib)
- `outline`: the report's sections in order, one row each (anchor, title, the function that
  fills it); `leaderboard`, `summary`, `sections`, `claims`: those functions; `compare`: the
  two-experiment document
- `metrics_file`: reports/metrics.json (the report's numbers), typed
- `figures/`: every matplotlib figure as PNG bytes, coloured from `figures/palette`
- `html`, `markdown`: the two renderers of a Document
- `stage`: `trainlab report`: `run_report`, `add_arguments_report`, `build_report`,
  `write_report` and the `--compare` pair

Nothing is imported here, so a module loads only what it needs.
"""

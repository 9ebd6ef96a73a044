"""Every figure of the report, as PNG bytes (matplotlib, Agg, no pyplot).

- `base`: the style, `new_figure`, `png_bytes`, `plain` (run text drawn literally)
- `palette`: the one mapping from what is drawn (an activation, a model kind, a transfer
  mode, a role such as train/validation) to its colour; no other module names a colour
- `labels`: text labels placed beside points without overlapping
- `recipes`: the search's figures (heatmaps, augmentation, curves, health, Optuna, compare)
- `stages`: the ensemble and transfer stages' figures
- `leaderboard`: accuracy against training cost (Pareto) and against labelled images
- `claims`: the claims' gradient profile, layer means and dead units

The data type of a rendered figure, `Figure`, lives with the document model
(`trainlab.report.document`), so rendering a built report loads no matplotlib.
Nothing is imported here, so a module loads only what it needs.
"""

"""Transfer learning: pretrained backbones, linear probe / fine-tune / scratch, the stage.

- `backbones`: what a backbone is and where its weights come from
- `tasks`: source and target classes, target-size subsets
- `source`: pretraining trainlab's own backbone
- `module`: the LightningModule of one cell, its on-device batches, frozen features
- `features`: the frozen-feature cache a backbone's cells share
- `cell`: training one backbone x mode x size cell (the shared Trainer factory), one MLflow run
- `pretrained`: every mode x size cell of one pretrained backbone on its frozen inputs (the
  transfer stage's and the leaderboard's baselines)
- `results`: the stage's files, typed (cells, summary) and the gains over scratch
- `stage`: `trainlab transfer`: `run_transfer`, `add_arguments_transfer`, the backbones, the
  outputs

Nothing is imported here, so a module loads only what it needs.
"""

"""Transfer learning: pretrained backbones, linear probe / fine-tune / scratch, the stage.

Modules: `backbones` (what a backbone is and where its weights come from), `tasks` (source
and target classes, target-size subsets), `source` (pretraining trainlab's own backbone),
`module` (the LightningModule of one cell and frozen features), `run` (the stage).
"""

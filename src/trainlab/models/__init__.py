"""The recipe's model: activations, networks, penalties, diagnostics, the LightningModule.

- `activations`: the lecture's activation functions (Maxout included), built by name
- `networks`: the MLP and the small CNN, and the layer lists the diagnostics walk
- `penalties`: the loss penalty lambda * R(W)
- `diagnostics`: saturated units, dead ReLUs, gradient flow per layer
- `optim`: the optimizers
- `scoring`: accuracy of scores, and of a network over batches
- `classifier`: what every LightningModule shares: the step, the epoch metrics
- `module`: the LightningModule of one recipe
- `device`: the device a stage's `device` param names
- `checkpoint`: safe checkpoint loading and evaluation

Nothing is imported here, so `scoring` or `networks` load without Lightning.
"""

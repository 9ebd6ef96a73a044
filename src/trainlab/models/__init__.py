from trainlab.models.activations import (
    ACTIVATIONS,
    RELU_FAMILY,
    Activation,
    Maxout,
    make_activation,
    width_factor,
)
from trainlab.models.diagnostics import activation_stats, first_to_last_grad_ratio, grad_norms
from trainlab.models.networks import (
    RecipeNet,
    build_network,
    hidden_activations,
    weighted_layers,
)
from trainlab.models.penalties import penalty

__all__ = [
    "ACTIVATIONS",
    "RELU_FAMILY",
    "Activation",
    "Maxout",
    "RecipeNet",
    "activation_stats",
    "build_network",
    "first_to_last_grad_ratio",
    "grad_norms",
    "hidden_activations",
    "make_activation",
    "penalty",
    "weighted_layers",
    "width_factor",
]

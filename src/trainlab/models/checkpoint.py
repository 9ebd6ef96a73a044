"""Load trainlab checkpoints safely and evaluate them.

Checkpoints are read with `torch.load(weights_only=True)`: a file that carries a pickled
object (code that would run on load) is refused, never executed.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn.functional as F

from trainlab.errors import DataError
from trainlab.models.module import RecipeModule
from trainlab.models.scoring import accuracy


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """The checkpoint's dict, read with weights_only=True; DataError if unsafe or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint {str(path)!r} not found; rerun the stage that writes it")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise DataError(
            f"checkpoint {str(path)!r} was refused: it carries pickled objects that "
            f"weights_only loading does not allow ({str(err).splitlines()[0]}); only load "
            "checkpoints trainlab wrote"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise DataError(
            f"checkpoint {str(path)!r} is corrupted or truncated ({err}); rerun the stage "
            "that writes it"
        ) from None
    if not isinstance(checkpoint, dict) or not {"state_dict", "hyper_parameters"} <= set(
        checkpoint
    ):
        raise DataError(
            f"checkpoint {str(path)!r} is not a trainlab checkpoint (no state_dict and "
            "hyper_parameters); pass a checkpoint written by trainlab train or search"
        )
    return checkpoint


def load_module(path: str | Path, map_location: str | torch.device = "cpu") -> RecipeModule:
    """Rebuild a RecipeModule from its checkpoint, in eval mode."""
    checkpoint = read_checkpoint(path, map_location)
    try:
        module = RecipeModule(**dict(checkpoint["hyper_parameters"]))
        module.load_state_dict(checkpoint["state_dict"])
    except (TypeError, RuntimeError, KeyError) as err:
        raise DataError(
            f"checkpoint {str(path)!r} does not match a trainlab network ({err}); it is foreign "
            "or from an incompatible version"
        ) from None
    return module.to(map_location).eval()


def load_predictor(path: str | Path, map_location: str | torch.device = "cpu") -> RecipeModule:
    """:func:`load_module` to predict with: on a CPU a CNN is made channels-last, as the
    trainer trains and scores it (`train_recipe`), so the probabilities are the ones its
    trial scored (within float rounding, ~1e-6) and come ~1.6x faster than in NCHW."""
    module = load_module(path, map_location)
    module.use_channels_last(torch.device(map_location))
    return module


@torch.inference_mode()
def predict_proba(
    module: torch.nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax probabilities (N, classes) and labels (N,) over batches, in eval mode."""
    was_training = module.training
    module.eval()
    probs, labels = [], []
    for x, y in batches:
        probs.append(F.softmax(module(x).float(), dim=1))
        labels.append(y)
    module.train(was_training)
    return torch.cat(probs), torch.cat(labels)


def loss_and_accuracy(probs: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of predicted probabilities."""
    loss = F.nll_loss(torch.log(probs.clamp_min(1e-12)), labels).item()
    return loss, accuracy(probs, labels)

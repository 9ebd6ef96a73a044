"""Preprocessing statistics fitted on the train split, and the module that applies them.

The statistics live in the model as buffers of :class:`Normalize`, so a checkpoint carries
the exact preprocessing it was trained with and never depends on the prepared data folder.
"""

from __future__ import annotations

import torch
from torch import nn

from trainlab.config.schema import PREPROCESSING

STAT_NAMES = ("mean_image", "channel_mean", "channel_std")
# Which statistics each mode subtracts / divides by (also the buffers a checkpoint holds).
MODE_STATS = {
    "none": (),
    "mean_image": ("mean_image",),
    "channel_mean": ("channel_mean",),
    "channel_standardize": ("channel_mean", "channel_std"),
}
MIN_STD = 1e-6  # a constant channel (std 0) must not divide by zero
CHUNK = 4096  # images per accumulation step: bounds the float64 copy (4096x3x32x32 = 100 MB)


def fit_stats(train_images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Pixel statistics of the train images on the [0, 1] scale.

    Args:
        train_images: (N, C, H, W) uint8, the train split only (val/test must not leak in).

    Returns:
        `mean_image` (C, H, W), `channel_mean` (C,) and `channel_std` (C,), float32;
        the std is the population std (ddof 0) over every pixel of the channel.
    """
    if train_images.dtype != torch.uint8 or train_images.dim() != 4 or len(train_images) == 0:
        raise ValueError(
            f"fit_stats expects a non-empty uint8 (N, C, H, W) tensor, got "
            f"{train_images.dtype} {tuple(train_images.shape)}"
        )
    n, channels, height, width = train_images.shape
    pixel_sum = torch.zeros(channels, height, width, dtype=torch.float64)
    square_sum = torch.zeros(channels, dtype=torch.float64)
    # float64 sums in chunks: exact enough for 10^8 pixels, without a float copy of the set.
    for chunk in train_images.split(CHUNK):
        scaled = chunk.to(torch.float64) / 255.0
        pixel_sum += scaled.sum(dim=0)
        square_sum += scaled.square().sum(dim=(0, 2, 3))
    mean_image = pixel_sum / n
    channel_mean = mean_image.mean(dim=(1, 2))
    variance = square_sum / (n * height * width) - channel_mean.square()
    return {
        "mean_image": mean_image.float(),
        "channel_mean": channel_mean.float(),
        "channel_std": variance.clamp_min(0.0).sqrt().float(),
    }


class Normalize(nn.Module):
    """Apply a preprocessing mode to float images (B, C, H, W) on the [0, 1] scale.

    Modes: `none` (identity), `mean_image` (x - mean image), `channel_mean`
    (x - per-channel mean), `channel_standardize` ((x - mean) / std per channel).
    Only the statistics the mode needs become buffers, so they are saved in `state_dict`.
    """

    # The buffers (those of `mode` only): declared for the type checker.
    mean_image: torch.Tensor
    channel_mean: torch.Tensor
    channel_std: torch.Tensor

    def __init__(self, mode: str, stats: dict[str, torch.Tensor]) -> None:
        super().__init__()
        if mode not in PREPROCESSING:
            raise ValueError(f"preprocessing = {mode!r} is not allowed; allowed: {PREPROCESSING}")
        self.mode = mode
        for name in MODE_STATS[mode]:
            if name not in stats:
                raise ValueError(f"preprocessing {mode!r} needs the statistic {name!r}")
            self.register_buffer(name, stats[name].detach().to(torch.float32).clone())

    @classmethod
    def empty(cls, mode: str, channels: int, height: int, width: int) -> Normalize:
        """A Normalize of the right shapes with placeholder statistics (mean 0, std 1).

        Use it to rebuild a model before `load_state_dict` fills in the saved statistics.
        """
        stats = {
            "mean_image": torch.zeros(channels, height, width),
            "channel_mean": torch.zeros(channels),
            "channel_std": torch.ones(channels),
        }
        return cls(mode, stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "mean_image":
            return x - self.mean_image  # (C, H, W) broadcasts over the batch
        if self.mode == "channel_mean":
            return x - self.channel_mean[:, None, None]
        if self.mode == "channel_standardize":
            std = self.channel_std.clamp_min(MIN_STD)  # clamped here: loaded stats pass too
            return (x - self.channel_mean[:, None, None]) / std[:, None, None]
        return x

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"

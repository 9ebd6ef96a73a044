"""On-device batch augmentation (airbench style): per-sample parameters, whole-batch ops.

Every random parameter is drawn for the whole batch with one tensor call; all geometric
operations compose into one affine matrix per sample and one `grid_sample` for the batch.
Only training batches are augmented; the caller decides when to apply it.
"""

from __future__ import annotations

import torch
from torch import nn

from trainlab.config.schema import AugmentationConfig
from trainlab.data.affine import affine_theta, warp

GEOMETRIC = ("crop_scale", "translate", "rotate", "stretch", "shear")


class BatchAugment(nn.Module):
    """Random flips, crop/scale, translation, rotation, stretch, shear, brightness, contrast.

    Args:
        cfg: the strengths; 0 turns an operation off (see `AugmentationConfig`).
        generator: default random generator, on the device of the images; None uses torch's
            global generator of that device, so `torch.manual_seed` makes runs repeatable.
    """

    def __init__(self, cfg: AugmentationConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.generator = generator
        self.geometric = any(getattr(cfg, name) > 0 for name in GEOMETRIC)
        # Read once: the config's `enabled` dumps the whole section, and forward runs per batch.
        self.enabled = cfg.enabled

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment a float batch (B, C, H, W) in [0, 1]; returns `x` itself when all is off.

        Args:
            x: the batch, on any device.
            generator: overrides the module's generator for this call.
        """
        if not self.enabled:
            return x
        gen = generator if generator is not None else self.generator
        if self.geometric:
            x = warp(x, self.sample_theta(len(x), x.shape[-2], x.shape[-1], x.device, gen))
        cfg, batch = self.cfg, len(x)
        if cfg.hflip > 0:
            flip = _uniform((batch,), x.device, gen) < cfg.hflip  # (B,) bool
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if cfg.contrast > 0:
            factor = 1.0 + _spread(cfg.contrast, (batch,), x.device, gen)  # (B,) in 1 +- c
            mean = x.mean(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1): each image's own mean
            x = (x - mean) * factor[:, None, None, None] + mean
        if cfg.brightness > 0:
            x = x + _spread(cfg.brightness, (batch,), x.device, gen)[:, None, None, None]
        return x.clamp(0.0, 1.0)

    def sample_theta(
        self,
        batch: int,
        height: int,
        width: int,
        device: torch.device,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Draw the geometric parameters of `batch` samples; returns (B, 2, 3) affine matrices."""
        cfg, one, two = self.cfg, (batch,), (batch, 2)
        angle = _spread(cfg.rotate, one, device, generator)  # degrees
        shear = _spread(cfg.shear, one, device, generator)  # degrees
        stretch = 1.0 + _spread(cfg.stretch, two, device, generator)  # (B, 2): x and y scales
        shift = _spread(cfg.translate, two, device, generator)  # (B, 2): fraction of the size
        zoom, crop = torch.ones(one, device=device), torch.zeros(two, device=device)
        if cfg.crop_scale > 0:
            # Zoom factor in [1, 1 / (1 - crop_scale)]: the window keeps >= 1 - crop_scale of
            # the side; its centre moves at most (1 - 1/zoom)/2 so it stays inside the image.
            top = 1.0 / (1.0 - cfg.crop_scale)
            zoom = 1.0 + (top - 1.0) * _uniform(one, device, generator)
            crop = (1.0 - 1.0 / zoom)[:, None] / 2 * _spread(1.0, two, device, generator)
        return affine_theta(angle, shear, stretch, zoom, crop, shift, height, width)

    def extra_repr(self) -> str:
        active = {k: v for k, v in self.cfg.model_dump().items() if v > 0}
        return ", ".join(f"{k}={v}" for k, v in active.items()) or "identity"


def _uniform(
    shape: tuple[int, ...], device: torch.device, generator: torch.Generator | None
) -> torch.Tensor:
    """U[0, 1) of `shape`: one tensor call for the whole batch."""
    return torch.rand(shape, device=device, generator=generator)


def _spread(
    strength: float, shape: tuple[int, ...], device: torch.device, generator: torch.Generator | None
) -> torch.Tensor:
    """`strength` * U[-1, 1) of `shape`; zeros without drawing when the strength is 0."""
    if strength == 0:
        return torch.zeros(shape, device=device)
    return strength * (2.0 * _uniform(shape, device, generator) - 1.0)

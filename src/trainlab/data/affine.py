"""Per-sample geometric parameters -> one affine matrix each -> one resampling of the batch.

Conventions, in pixels measured from the image centre with y pointing down:
the content is rotated, sheared and stretched about the centre (A = R Sh St), a window of
1/zoom of the side centred at `crop` is blown up to the full image, and the result is
shifted by `shift`. `F.affine_grid` wants the inverse map (output pixel -> input pixel) in
normalised [-1, 1] coordinates, which :func:`affine_theta` builds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def affine_theta(
    angle: torch.Tensor,
    shear: torch.Tensor,
    stretch: torch.Tensor,
    zoom: torch.Tensor,
    crop: torch.Tensor,
    shift: torch.Tensor,
    height: int,
    width: int,
) -> torch.Tensor:
    """Matrices for `F.affine_grid` (align_corners=False), one per sample.

    Args:
        angle: (B,) rotation of the content in degrees, clockwise as displayed.
        shear: (B,) horizontal shear in degrees (x moves by tan(shear) * y).
        stretch: (B, 2) scale of the content along x and y (1 = unchanged).
        zoom: (B,) zoom-in factor >= 1 (1 = no crop).
        crop: (B, 2) crop-window centre (x, y) as a fraction of width and height from the
            image centre; inside the image when |crop| <= (1 - 1/zoom) / 2.
        shift: (B, 2) translation (x, y) of the content as a fraction of width and height.
        height, width: image size in pixels.

    Returns:
        (B, 2, 3) float tensor mapping output to input coordinates.
    """
    radians, shear_tan = torch.deg2rad(angle), torch.tan(torch.deg2rad(shear))
    cos, sin = torch.cos(radians), torch.sin(radians)
    sx, sy = stretch[:, 0], stretch[:, 1]
    # A = R @ Sh @ St for the content, written out: [[a, b], [c, d]], (B,) each.
    a, b = cos * sx, (cos * shear_tan - sin) * sy
    c, d = sin * sx, (sin * shear_tan + cos) * sy
    det = a * d - b * c  # = sx * sy > 0: stretch stays above 0, shear below 90 degrees
    inverse = (
        torch.stack([torch.stack([d, -b], -1), torch.stack([-c, a], -1)], -2) / det[:, None, None]
    )
    size = torch.tensor([width, height], dtype=angle.dtype, device=angle.device)  # (x, y) pixels
    # input = A^-1 ((output - shift) / zoom + crop), all in pixels from the centre.
    linear = inverse / zoom[:, None, None]  # (B, 2, 2)
    offset = inverse @ ((crop - shift / zoom[:, None]) * size)[:, :, None]  # (B, 2, 1) pixels
    # Pixels -> normalised units: x_n = x_px / (W / 2); M_n = D^-1 M D with D = diag(W, H) / 2.
    linear = linear * size[None, None, :] / size[None, :, None]
    offset = offset * 2 / size[None, :, None]
    return torch.cat([linear, offset], dim=2)


def warp(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample (B, C, H, W) images through (B, 2, 3) matrices in one grid_sample call.

    Pixels mapped from outside the image are 0 (black), as in a zero-padded crop.
    """
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

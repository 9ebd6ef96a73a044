"""Per-sample geometric parameters -> one affine matrix each -> one resampling of the batch.

Conventions, in pixels measured from the image centre with y pointing down:
the content is rotated, sheared and stretched about the centre (A = R Sh St), a window of
1/zoom of the side centred at `crop` is blown up to the full image, and the result is
shifted by `shift`. The sampling grid wants the inverse map (output pixel -> input pixel) in
normalised [-1, 1] coordinates (`F.affine_grid`'s convention), which :func:`affine_theta` builds.
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


def sampling_grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """`F.affine_grid(theta, (B, C, H, W), align_corners=False)`, computed by broadcasting.

    affine_grid multiplies every output pixel's (x, y, 1) by theta in a batched matmul; the
    x and y terms separate, so two small products and one full-size sum give the same grid
    (to float rounding) 2-3x faster on a CPU core (bench/augmentation.py times both).
    Returns (B, H, W, 2) input coordinates (x, y) in normalised units.
    """
    # Pixel centres in normalised units: (2i + 1) / n - 1 for i = 0 .. n-1.
    xs = torch.linspace(-1.0, 1.0, width, dtype=theta.dtype, device=theta.device)
    ys = torch.linspace(-1.0, 1.0, height, dtype=theta.dtype, device=theta.device)
    xs, ys = xs * ((width - 1) / width), ys * ((height - 1) / height)
    t = theta[:, None, None, :, :]  # (B, 1, 1, 2, 3)
    along_x = t[..., 0] * xs[:, None]  # (B, 1, W, 2)
    along_y = t[..., 1] * ys[:, None, None] + t[..., 2]  # (B, H, 1, 2)
    return along_x + along_y


def warp(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample (B, C, H, W) images through (B, 2, 3) matrices in one grid_sample call.

    Pixels mapped from outside the image are 0 (black), as in a zero-padded crop.
    """
    grid = sampling_grid(theta.to(images.dtype), images.shape[-2], images.shape[-1])
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

import math

import pytest
import torch
import torch.nn.functional as F

from trainlab.config.schema import AugmentationConfig
from trainlab.data.affine import warp
from trainlab.data.augment import BatchAugment

SIDE = 28
ALL_ON = AugmentationConfig(
    hflip=0.5,
    crop_scale=0.2,
    brightness=0.1,
    contrast=0.2,
    translate=0.1,
    rotate=15,
    stretch=0.1,
    shear=10,
)


def augment(batch, seed=0, **strengths):
    generator = torch.Generator().manual_seed(seed)
    return BatchAugment(AugmentationConfig(**strengths))(batch, generator=generator)


def blob(count, row, col):
    """`count` copies of a 28x28 image with a 3x3 bright square centred at (row, col)."""
    images = torch.zeros(count, 1, SIDE, SIDE)
    images[:, :, row - 1 : row + 2, col - 1 : col + 2] = 1.0
    return images


def centre_of_mass(images):
    """(B, 2) centre of mass (x, y) in pixels from the image centre."""
    coords = torch.arange(SIDE, dtype=torch.float32) + 0.5 - SIDE / 2
    mass = images.sum(dim=(1, 2, 3))
    x = (images.sum(dim=(1, 2)) * coords).sum(-1) / mass
    y = (images.sum(dim=(1, 3)) * coords).sum(-1) / mass
    return torch.stack([x, y], dim=1)


def ramp(count):
    """Horizontal ramp from 0 to 1 (column j holds j / 27): its slope reveals x scaling."""
    return torch.linspace(0, 1, SIDE).expand(count, 1, SIDE, SIDE).clone()


def ramp_slope(images):
    """(B,) slope between columns 8 and 20 of the central rows, relative to the input ramp.

    Content magnified by k shows the ramp at slope 1 / k.
    """
    central = images[:, 0, 10:18]  # rows near the centre never read the zero padding
    return (central[:, :, 20] - central[:, :, 8]).mean(dim=1) / (12 / (SIDE - 1))


def test_nothing_enabled_returns_the_input_itself():
    x = torch.rand(4, 1, SIDE, SIDE)
    assert BatchAugment(AugmentationConfig())(x) is x


def test_hflip_probability_one_is_torch_flip():
    x = torch.rand(8, 3, 5, 7)
    assert torch.equal(augment(x, hflip=1.0), torch.flip(x, dims=[-1]))


def test_hflip_flips_each_sample_independently():
    x = torch.rand(400, 1, 4, 6)
    out = augment(x, hflip=0.5)
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert torch.all(flipped ^ kept)  # every sample is one or the other
    assert 150 < int(flipped.sum()) < 250  # ~Binomial(400, 0.5)


def test_translate_moves_each_sample_at_most_translate_times_size():
    shifts = centre_of_mass(augment(blob(256, 13, 13), translate=0.25)) - centre_of_mass(
        blob(1, 13, 13)
    )
    assert shifts.abs().max() <= 0.25 * SIDE + 1e-3  # 7 px
    assert shifts.abs().max() > 6.0  # the range is used ...
    assert shifts.std(dim=0).min() > 3.0  # ... uniformly: std of U[-7, 7] is 4.04


def test_rotate_keeps_the_radius_and_spreads_the_angle():
    x = blob(256, 13, 20)  # 6.5 px right of the centre (14, 14) - 0.5
    com = centre_of_mass(augment(x, rotate=90))
    start = centre_of_mass(x[:1])
    radius = start.norm()
    assert torch.allclose(com.norm(dim=1), radius.expand(256), atol=0.3)
    angles = torch.rad2deg(
        torch.atan2(com[:, 1], com[:, 0]) - torch.atan2(start[0, 1], start[0, 0])
    )
    assert angles.abs().max() <= 90.5
    assert angles.min() < -70 and angles.max() > 70


def test_crop_scale_zooms_in_by_at_most_one_over_one_minus_crop():
    slope = ramp_slope(augment(ramp(256), crop_scale=0.5))
    assert slope.min() >= 0.5 - 1e-4 and slope.max() <= 1.0 + 1e-4  # zoom in [1, 2]
    assert slope.min() < 0.55 and slope.max() > 0.9


def test_crop_window_stays_inside_the_image():
    out = augment(torch.ones(256, 1, SIDE, SIDE), crop_scale=0.5)
    # No black border enters; only the outermost pixels may blend with the padding.
    assert torch.all(out[:, :, 1:-1, 1:-1] > 1.0 - 1e-5)


def test_stretch_scales_x_within_one_plus_minus_stretch():
    slope = ramp_slope(augment(ramp(256), stretch=0.3))
    # The content is scaled by s in [0.7, 1.3], so the ramp's slope is 1 / s.
    assert slope.min() >= 1 / 1.3 - 1e-4 and slope.max() <= 1 / 0.7 + 1e-4
    assert slope.min() < 0.8 and slope.max() > 1.35


def test_shear_slants_vertical_lines_by_up_to_tan_shear():
    out = augment(ramp(256), shear=30)
    # Row r reads the ramp at x - tan(shear) * (r - centre): the column drifts across rows.
    drift = (out[:, 0, 20, 14] - out[:, 0, 8, 14]) / (12 / (SIDE - 1))
    bound = math.tan(math.radians(30))
    assert drift.abs().max() <= bound + 1e-4
    assert drift.min() < -0.8 * bound and drift.max() > 0.8 * bound


def test_brightness_shifts_each_image_by_one_offset():
    out = augment(torch.full((256, 1, 5, 5), 0.5), brightness=0.2)
    offsets = out.mean(dim=(1, 2, 3)) - 0.5
    assert torch.all(out.flatten(1).std(dim=1) < 1e-6)  # a constant image stays constant
    assert offsets.abs().max() <= 0.2 + 1e-6 and offsets.std() > 0.08  # std of U[-.2,.2]: .115


def test_contrast_scales_around_each_image_mean():
    x = 0.25 + 0.5 * torch.rand(256, 3, 6, 6)  # in [0.25, 0.75]: no clamping at c = 0.5
    out = augment(x, contrast=0.5)
    assert torch.allclose(out.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-5)
    ratio = out.flatten(1).std(dim=1) / x.flatten(1).std(dim=1)
    assert ratio.min() >= 0.5 - 1e-4 and ratio.max() <= 1.5 + 1e-4
    assert ratio.min() < 0.6 and ratio.max() > 1.4


def test_output_is_clamped_to_the_unit_range():
    out = augment(torch.rand(64, 1, 8, 8), brightness=0.9, contrast=0.9)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert (out == 1.0).any() and (out == 0.0).any()


def test_geometry_is_one_resampling_with_the_composed_matrix(monkeypatch):
    geometric = AugmentationConfig(crop_scale=0.3, translate=0.1, rotate=30, stretch=0.2, shear=15)
    aug = BatchAugment(geometric)
    x = torch.rand(16, 1, SIDE, SIDE)
    theta = aug.sample_theta(16, SIDE, SIDE, x.device, torch.Generator().manual_seed(4))
    assert theta.shape == (16, 2, 3)
    calls = []
    original = F.grid_sample
    monkeypatch.setattr(F, "grid_sample", lambda *a, **k: calls.append(1) or original(*a, **k))
    out = aug(x, generator=torch.Generator().manual_seed(4))
    assert len(calls) == 1
    assert torch.allclose(out, warp(x, theta).clamp(0, 1), atol=1e-6)


def test_photometric_only_skips_the_grid(monkeypatch):
    calls = []
    monkeypatch.setattr(F, "grid_sample", lambda *a, **k: calls.append(1))
    augment(torch.rand(4, 1, 5, 5), hflip=0.5, brightness=0.1, contrast=0.1)
    assert calls == []


def test_random_draws_do_not_grow_with_the_batch(monkeypatch):
    calls = []
    original = torch.rand
    monkeypatch.setattr(torch, "rand", lambda *a, **k: calls.append(1) or original(*a, **k))
    aug = BatchAugment(ALL_ON)
    aug(torch.rand(1, 1, SIDE, SIDE))
    draws_for_one = len(calls) - 1  # minus the call that built the input
    calls.clear()
    aug(original(64, 1, SIDE, SIDE))
    assert len(calls) == draws_for_one == 9  # one tensor call per parameter kind


def test_global_seed_and_generator_make_it_repeatable():
    aug, x = BatchAugment(ALL_ON), torch.rand(32, 1, SIDE, SIDE)
    torch.manual_seed(11)
    first = aug(x)
    torch.manual_seed(11)
    assert torch.equal(aug(x), first)
    assert not torch.equal(aug(x), first)  # the global stream moved on
    seeded = BatchAugment(ALL_ON, generator=torch.Generator().manual_seed(5))
    assert torch.equal(seeded(x), aug(x, generator=torch.Generator().manual_seed(5)))


def test_all_on_keeps_shape_dtype_and_range():
    x = torch.rand(32, 3, 12, 10)
    out = BatchAugment(ALL_ON)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, x)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_with_the_device_generator():
    x = torch.rand(64, 1, SIDE, SIDE, device="cuda")
    out = BatchAugment(ALL_ON)(x, generator=torch.Generator("cuda").manual_seed(0))
    assert out.device.type == "cuda" and out.shape == x.shape

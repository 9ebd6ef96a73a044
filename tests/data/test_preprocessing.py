import numpy as np
import pytest
import torch

from trainlab.data import preprocessing
from trainlab.data.preprocessing import Normalize, fit_stats


@pytest.fixture
def train_images():
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (50, 3, 5, 6), dtype=torch.uint8, generator=generator)


@pytest.mark.parametrize("chunk", [4096, 7])  # one pass, and several uneven chunks
def test_fit_stats_matches_numpy(train_images, monkeypatch, chunk):
    monkeypatch.setattr(preprocessing, "CHUNK", chunk)
    stats = fit_stats(train_images)
    pixels = train_images.numpy().astype(np.float64) / 255.0
    assert stats["mean_image"].shape == (3, 5, 6)
    assert stats["mean_image"].dtype == torch.float32
    np.testing.assert_allclose(stats["mean_image"], pixels.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(stats["channel_mean"], pixels.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(stats["channel_std"], pixels.std(axis=(0, 2, 3)), rtol=1e-5)


def test_constant_images_have_zero_std():
    stats = fit_stats(torch.full((4, 1, 3, 3), 51, dtype=torch.uint8))
    assert stats["channel_mean"].item() == pytest.approx(0.2)
    assert stats["channel_std"].item() == pytest.approx(0.0, abs=1e-6)


def test_fit_stats_rejects_float_images():
    with pytest.raises(ValueError, match="uint8"):
        fit_stats(torch.rand(2, 1, 3, 3))


@pytest.fixture
def batch():
    return torch.rand(4, 3, 5, 6, generator=torch.Generator().manual_seed(1))


def test_none_is_the_identity(train_images, batch):
    normalize = Normalize("none", fit_stats(train_images))
    assert normalize(batch) is batch
    assert dict(normalize.state_dict()) == {}


def test_each_mode_matches_a_hand_computation(train_images, batch):
    stats = fit_stats(train_images)
    x, mean_image = batch.numpy(), stats["mean_image"].numpy()
    mean, std = stats["channel_mean"].numpy(), stats["channel_std"].numpy()
    expected = {
        "mean_image": x - mean_image[None],
        "channel_mean": x - mean[None, :, None, None],
        "channel_standardize": (x - mean[None, :, None, None]) / std[None, :, None, None],
    }
    for mode, want in expected.items():
        np.testing.assert_allclose(Normalize(mode, stats)(batch), want, rtol=1e-5, atol=1e-6)


def test_standardized_train_images_have_zero_mean_unit_std(train_images):
    x = train_images.float() / 255.0
    out = Normalize("channel_standardize", fit_stats(train_images))(x)
    assert out.mean(dim=(0, 2, 3)).abs().max() < 1e-5
    assert out.std(dim=(0, 2, 3), correction=0).sub(1).abs().max() < 1e-4


def test_zero_std_is_clamped():
    stats = {"channel_mean": torch.tensor([0.5]), "channel_std": torch.tensor([0.0])}
    offset = 2.0**-20  # exact in float32, unlike 1e-6
    out = Normalize("channel_standardize", stats)(torch.full((1, 1, 2, 2), 0.5 + offset))
    assert out.flatten().tolist() == pytest.approx([offset / 1e-6] * 4, rel=1e-4)


@pytest.mark.parametrize(
    ("mode", "buffers"),
    [
        ("mean_image", ["mean_image"]),
        ("channel_mean", ["channel_mean"]),
        ("channel_standardize", ["channel_mean", "channel_std"]),
    ],
)
def test_stats_travel_in_the_state_dict(train_images, batch, mode, buffers):
    fitted = Normalize(mode, fit_stats(train_images))
    assert sorted(fitted.state_dict()) == sorted(buffers)
    rebuilt = Normalize.empty(mode, channels=3, height=5, width=6)
    assert not torch.allclose(rebuilt(batch), fitted(batch))
    rebuilt.load_state_dict(fitted.state_dict())
    assert torch.equal(rebuilt(batch), fitted(batch))


def test_unknown_mode_is_rejected(train_images):
    with pytest.raises(ValueError, match="preprocessing = 'zca' is not allowed"):
        Normalize("zca", fit_stats(train_images))

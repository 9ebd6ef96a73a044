import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from synthetic import write_mnist_like  # tests/synthetic.py

from trainlab.config.schema import DataConfig
from trainlab.data import sources
from trainlab.data.sources import FASHION_MNIST_CLASSES, RawDataset, load_raw
from trainlab.errors import DataError


@pytest.fixture
def no_debian(tmp_path, monkeypatch):
    """Pretend the Debian package is absent and run inside an empty project folder."""
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST", tmp_path / "debian-absent")
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    return project


def test_digits_rescales_to_uint8_and_has_no_test_split():
    from sklearn.datasets import load_digits

    raw = load_raw(DataConfig(dataset="digits"))
    assert raw.train_images.shape == (1797, 1, 8, 8)
    assert raw.train_images.dtype == torch.uint8
    assert raw.test_images is None
    assert raw.classes == tuple("0123456789")
    expected = np.rint(load_digits().images * 255 / 16)
    assert np.array_equal(raw.train_images[:, 0].numpy(), expected)
    assert int(raw.train_images.max()) == 255
    assert np.array_equal(raw.train_labels.numpy(), load_digits().target)


@pytest.mark.skipif(
    not sources.DEBIAN_FASHION_MNIST.is_dir(), reason="apt-get install dataset-fashion-mnist"
)
def test_fashion_mnist_from_the_debian_folder():
    raw = load_raw(DataConfig(dataset="fashion_mnist"))
    assert raw.source == str(sources.DEBIAN_FASHION_MNIST)
    assert raw.train_images.shape == (60000, 1, 28, 28)
    assert raw.test_images.shape == (10000, 1, 28, 28)
    assert raw.classes[:2] == ("T-shirt/top", "Trouser") and raw.classes[-1] == "Ankle boot"
    assert raw.train_labels.bincount().tolist() == [6000] * 10
    assert raw.test_labels.bincount().tolist() == [1000] * 10


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_from_data_root(tmp_path, gz):
    arrays = write_mnist_like(tmp_path, train=20, test=10, gz=gz)
    raw = load_raw(DataConfig(dataset="fashion_mnist", root=str(tmp_path), download=False))
    assert raw.source == str(tmp_path)
    assert raw.classes == FASHION_MNIST_CLASSES
    assert raw.train_images.shape == (20, 1, 28, 28)
    assert np.array_equal(raw.test_images[:, 0].numpy(), arrays["t10k-images-idx3-ubyte"])
    assert raw.train_labels.tolist() == [i % 10 for i in range(20)]


def test_fashion_mnist_in_torchvision_layout_under_data_raw(no_debian):
    folder = no_debian / "data" / "raw" / "FashionMNIST" / "raw"
    write_mnist_like(folder, train=10, test=10, gz=False)
    raw = load_raw(DataConfig(dataset="fashion_mnist", download=False))
    assert raw.source == str(Path("data/raw/FashionMNIST/raw"))
    assert len(raw.train_labels) == 10


def test_missing_fashion_mnist_names_the_places_and_the_fixes(no_debian):
    with pytest.raises(DataError) as caught:
        load_raw(DataConfig(dataset="fashion_mnist", download=False))
    message = str(caught.value)
    assert str(sources.DEBIAN_FASHION_MNIST) in message
    assert str(no_debian / "data" / "raw") in message
    assert "data.download is false" in message
    for fix in ("apt-get install dataset-fashion-mnist", "data.root", "data.download=true"):
        assert fix in message
    assert "\n" not in message
    assert message.count(str(sources.DEBIAN_FASHION_MNIST)) == 2  # looked once, fix once


def test_failed_download_is_a_data_error(no_debian, monkeypatch):
    import torchvision.datasets

    def offline(self):
        raise RuntimeError(
            "Error downloading train-images-idx3-ubyte.gz:\nName or service not known"
        )

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)  # FashionMNIST's too
    with pytest.raises(DataError, match=r"could not download it: Error downloading .* not known"):
        load_raw(DataConfig(dataset="fashion_mnist", root=str(no_debian / "mine")))


def test_mnist_through_torchvision_from_local_files(tmp_path):
    arrays = write_mnist_like(tmp_path / "MNIST" / "raw", train=30, test=10, gz=False)
    # download=True must use the files already there instead of fetching anything.
    raw = load_raw(DataConfig(dataset="mnist", root=str(tmp_path), download=True))
    assert raw.source == f"torchvision.datasets.MNIST at {tmp_path}"
    assert raw.train_images.shape == (30, 1, 28, 28)
    assert np.array_equal(raw.train_images[:, 0].numpy(), arrays["train-images-idx3-ubyte"])
    assert raw.classes[0] == "0 - zero"


def test_missing_cifar10_is_a_data_error(tmp_path):
    with pytest.raises(
        DataError, match=r"'cifar10' not found; looked in: .*found no files"
    ) as caught:
        load_raw(DataConfig(dataset="cifar10", root=str(tmp_path), download=False))
    assert f"looked in: {tmp_path} (" in str(caught.value)
    assert "apt-get" not in str(caught.value)  # only Fashion-MNIST has a Debian package


def fake_cifar(folder: Path, files: list[str], meta: str, key: str, label_key: str) -> np.ndarray:
    """CIFAR pickles of 2 images each; returns every image as (N, 32, 32, 3)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    images = []
    for number, name in enumerate(files):
        rows = rng.integers(0, 256, (2, 3 * 32 * 32), dtype=np.uint8)  # CHW flattened
        entry = {"data": rows, label_key: [number % 10, (number + 1) % 10]}
        (folder / name).write_bytes(pickle.dumps(entry))
        images.append(rows.reshape(2, 3, 32, 32).transpose(0, 2, 3, 1))
    (folder / meta).write_bytes(pickle.dumps({key: [f"class{i}" for i in range(10)]}))
    return np.concatenate(images)


def test_cifar10_converts_to_channels_first(tmp_path, monkeypatch):
    import torchvision.datasets.cifar

    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    hwc = fake_cifar(
        tmp_path / "cifar-10-batches-py", files, "batches.meta", "label_names", "labels"
    )
    raw = load_raw(DataConfig(dataset="cifar10", root=str(tmp_path), download=False))
    assert raw.train_images.shape == (10, 3, 32, 32) and raw.test_images.shape == (2, 3, 32, 32)
    assert np.array_equal(raw.train_images.permute(0, 2, 3, 1).numpy(), hwc[:10])
    assert raw.train_labels.tolist()[:4] == [0, 1, 1, 2]
    assert raw.classes[3] == "class3"


def test_svhn_maps_label_10_to_0(tmp_path, monkeypatch):
    import scipy.io
    import torchvision.datasets.svhn

    monkeypatch.setattr(torchvision.datasets.svhn, "check_integrity", lambda *a, **k: True)
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (32, 32, 3, 4), dtype=np.uint8)  # MATLAB: (H, W, C, N)
    for name in ("train_32x32.mat", "test_32x32.mat"):
        scipy.io.savemat(tmp_path / name, {"X": pixels, "y": np.array([[10], [1], [2], [10]])})
    raw = load_raw(DataConfig(dataset="svhn", root=str(tmp_path), download=False))
    assert raw.train_images.shape == (4, 3, 32, 32)
    assert np.array_equal(raw.train_images.numpy(), pixels.transpose(3, 2, 0, 1))
    assert raw.train_labels.tolist() == [0, 1, 2, 0]
    assert raw.classes == tuple("0123456789")


def test_raw_dataset_rejects_wrong_dtypes_and_labels():
    images = torch.zeros(3, 1, 2, 2, dtype=torch.uint8)
    with pytest.raises(ValueError, match="uint8"):
        RawDataset(images.float(), torch.zeros(3, dtype=torch.long), None, None, ("a",), "x")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\), got \[0, 2\]"):
        RawDataset(images, torch.tensor([0, 1, 2]), None, None, ("a", "b"), "x")

import numpy as np
import pytest
import torch
from PIL import Image

from trainlab.config import DataConfig
from trainlab.data.imagefolder import load_image_folder
from trainlab.data.sources import load_raw
from trainlab.errors import DataError


def write_png(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode=mode).save(path)
    return path


@pytest.fixture
def gray_folder(tmp_path):
    """Two classes of 5x4 grayscale PNGs whose every pixel is 10 * label + number."""
    for label, name in enumerate(["cat", "dog"]):
        for number in range(3):
            write_png(tmp_path / name / f"{number}.png", np.full((4, 5), 10 * label + number))
    return tmp_path


def test_grayscale_folder_becomes_one_channel(gray_folder):
    images, labels, classes = load_image_folder(gray_folder, None)
    assert classes == ("cat", "dog")
    assert images.dtype == torch.uint8
    assert images.shape == (6, 1, 4, 5)  # (N, C, H, W): height 4, width 5
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert images[:, 0, 0, 0].tolist() == [0, 1, 2, 10, 11, 12]


def test_one_colour_image_makes_every_image_rgb(gray_folder):
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # pure red
    write_png(gray_folder / "dog" / "red.png", rgb)
    images, labels, _ = load_image_folder(gray_folder, None)
    assert images.shape == (7, 3, 4, 5)
    red = images[labels == 1][-1]  # sorted after 0/1/2.png
    assert red[:, 0, 0].tolist() == [200, 0, 0]
    gray = images[0]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])


def test_image_size_resizes_to_a_square(gray_folder):
    write_png(gray_folder / "cat" / "big.png", np.full((9, 7), 50))
    images, _, _ = load_image_folder(gray_folder, 6)
    assert images.shape == (7, 1, 6, 6)
    assert images[3].unique().tolist() == [50]  # a constant image stays constant


def test_mixed_sizes_without_image_size_name_the_file(gray_folder):
    write_png(gray_folder / "cat" / "big.png", np.full((9, 7), 50))
    with pytest.raises(DataError, match=r"big.png: size 7x9 differs .*set data.image_size"):
        load_image_folder(gray_folder, None)


def test_corrupted_image_names_the_file(gray_folder):
    (gray_folder / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataError, match=r"cannot read image .*dog/broken.png"):
        load_image_folder(gray_folder, None)


def test_truncated_image_names_the_file(gray_folder):
    path = write_png(
        gray_folder / "dog" / "cut.png", np.random.default_rng(0).integers(0, 255, (64, 64))
    )
    path.write_bytes(path.read_bytes()[:200])  # a valid header, then the pixel data stops
    with pytest.raises(DataError, match=r"cannot read image .*dog/cut.png"):
        load_image_folder(gray_folder, 4)


def test_one_class_is_an_error(tmp_path):
    write_png(tmp_path / "only" / "a.png", np.zeros((3, 3)))
    with pytest.raises(DataError, match=r"1 class folder\(s\) \['only'\]; .*at least 2"):
        load_image_folder(tmp_path, None)


def test_folder_without_images_is_an_error(tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "dog").mkdir()
    (tmp_path / "dog" / "notes.txt").write_text("no pictures here")
    with pytest.raises(DataError, match="no images under"):
        load_image_folder(tmp_path, None)


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        load_image_folder(tmp_path / "absent", None)


def test_load_raw_imagefolder_has_no_own_test_split(gray_folder):
    raw = load_raw(DataConfig(dataset="imagefolder", root=str(gray_folder)))
    assert raw.test_images is None and raw.test_labels is None
    assert raw.classes == ("cat", "dog")
    assert raw.train_images.shape == (6, 1, 4, 5)
    assert raw.source == str(gray_folder)


def test_load_raw_imagefolder_needs_a_root():
    with pytest.raises(DataError, match="imagefolder needs data.root"):
        load_raw(DataConfig(dataset="imagefolder"))

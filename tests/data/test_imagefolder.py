import numpy as np
import pytest
import torch
from PIL import Image
from support import write_digits_folder  # tests/support.py

from trainlab.config.schema import DataConfig
from trainlab.data.imagefolder import load_image_folder
from trainlab.data.sources import load_raw
from trainlab.errors import DataError


def write_png(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode=mode).save(path)
    return path


def truncate(path, keep=200):
    path.write_bytes(path.read_bytes()[:keep])  # a valid header, then the pixel data stops
    return path


@pytest.fixture
def gray_folder(tmp_path):
    """Two classes of 5x4 grayscale PNGs whose every pixel is 10 * label + number."""
    for label, name in enumerate(["cat", "dog"]):
        for number in range(3):
            write_png(tmp_path / name / f"{number}.png", np.full((4, 5), 10 * label + number))
    return tmp_path


def test_rgb_digits_folder_decodes_to_three_channels(tmp_path):
    root = write_digits_folder(tmp_path, classes=3, per_class=20)
    folder = load_image_folder(root, None)
    assert folder.classes == ("0", "1", "2")
    assert folder.images.shape == (60, 3, 32, 32) and folder.images.dtype == torch.uint8
    assert folder.labels.bincount().tolist() == [20, 20, 20]
    first = np.array(Image.open(root / "1" / "0.png"))  # (H, W, 3)
    assert torch.equal(folder.images[20], torch.from_numpy(first).permute(2, 0, 1))
    assert folder.notes == ()  # nothing skipped, nothing converted


def test_grayscale_folder_becomes_one_channel(gray_folder):
    folder = load_image_folder(gray_folder, None)
    assert folder.classes == ("cat", "dog")
    assert folder.images.shape == (6, 1, 4, 5)  # (N, C, H, W): height 4, width 5
    assert folder.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert folder.images[:, 0, 0, 0].tolist() == [0, 1, 2, 10, 11, 12]


def test_one_colour_image_makes_every_image_rgb_and_says_so(gray_folder):
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # pure red
    write_png(gray_folder / "dog" / "red.png", rgb)
    folder = load_image_folder(gray_folder, None)
    assert folder.images.shape == (7, 3, 4, 5)
    red = folder.images[folder.labels == 1][-1]  # sorted after 0/1/2.png
    assert red[:, 0, 0].tolist() == [200, 0, 0]
    gray = folder.images[0]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    assert folder.notes == (
        "imagefolder: 1 colour and 6 gray images: every image is stored as RGB (3 channels; "
        "a gray image repeats its channel)",
    )


def test_rgb_files_holding_gray_pixels_make_one_channel(gray_folder):
    write_png(gray_folder / "dog" / "grey_rgb.png", np.full((4, 5, 3), 77))
    folder = load_image_folder(gray_folder, None)
    assert folder.images.shape == (7, 1, 4, 5)
    assert folder.images[-1].unique().tolist() == [77]
    assert folder.notes == (
        "imagefolder: every image is gray (colour files with equal R, G and B included): "
        "stored as 1 channel",
    )


def test_image_size_resizes_to_a_square(gray_folder):
    write_png(gray_folder / "cat" / "big.png", np.full((9, 7), 50))
    folder = load_image_folder(gray_folder, 6)
    assert folder.images.shape == (7, 1, 6, 6)
    assert folder.images[3].unique().tolist() == [50]  # a constant image stays constant


def test_mixed_sizes_are_resized_to_image_size(tmp_path):
    root = write_digits_folder(tmp_path, classes=3, per_class=12, sizes=(32, 40, 24))
    folder = load_image_folder(root, 16)
    assert folder.images.shape == (36, 3, 16, 16)
    assert folder.labels.bincount().tolist() == [12, 12, 12]


def test_mixed_sizes_without_image_size_name_the_sizes_examples_and_the_fix(tmp_path):
    root = write_digits_folder(tmp_path, classes=2, per_class=9, sizes=(32, 32, 40))
    message = (
        r"imagefolder: the images under .* differ in size \(width x height\): "
        r"32x32 \(12 image\(s\), e\.g\. 0/0\.png\), 40x40 \(6 image\(s\), e\.g\. 0/2\.png\); "
        r"set data\.image_size to resize every image to one square side, "
        r"e\.g\. --set data\.image_size=32$"
    )
    with pytest.raises(DataError, match=message):
        load_image_folder(root, None)


def test_corrupted_image_names_the_file(gray_folder):
    (gray_folder / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(
        DataError,
        match=r"cannot read 1 image\(s\): .*dog/broken\.png \(UnidentifiedImageError: .*\); "
        "remove or replace them",
    ):
        load_image_folder(gray_folder, None)


def test_truncated_image_names_the_file(gray_folder):
    truncate(write_png(gray_folder / "dog" / "cut.png",
                       np.random.default_rng(0).integers(0, 255, (64, 64))))
    with pytest.raises(DataError, match=r"cannot read 1 image\(s\): .*dog/cut\.png \(OSError: "):
        load_image_folder(gray_folder, 4)


def test_every_unreadable_image_is_named_at_once(gray_folder):
    for name in ("cat/bad1.png", "dog/bad2.png"):
        (gray_folder / name).write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"cannot read 2 image\(s\): .*cat/bad1\.png .*dog/bad2"):
        load_image_folder(gray_folder, None)


def test_headers_are_checked_before_any_image_is_decoded(tmp_path):
    # A truncated image fails only when decoded; the mixed sizes show in the headers, so
    # their error comes first: the slow pass never starts.
    root = write_digits_folder(tmp_path, classes=2, per_class=4, sizes=(32, 40))
    truncate(write_png(root / "0" / "cut.png",
                       np.random.default_rng(0).integers(0, 255, (40, 40))))
    with pytest.raises(DataError, match="differ in size"):
        load_image_folder(root, None)
    with pytest.raises(DataError, match="cut.png"):
        load_image_folder(root, 32)


def test_check_labels_sees_the_labels_before_any_image_is_decoded(gray_folder):
    truncate(write_png(gray_folder / "dog" / "cut.png",
                       np.random.default_rng(0).integers(0, 255, (4, 5))), keep=60)
    seen = []

    def check(labels, classes):
        seen.append((labels.tolist(), classes))
        raise ValueError("stop here")

    with pytest.raises(ValueError, match="stop here"):  # not the truncated file's DataError
        load_image_folder(gray_folder, None, check_labels=check)
    assert seen == [([0, 0, 0, 1, 1, 1, 1], ("cat", "dog"))]


def test_unreadable_files_are_named_before_the_labels_are_checked(gray_folder):
    # Removing a broken file changes the counts the split is planned on: name it first.
    (gray_folder / "dog" / "broken.png").write_bytes(b"not an image")

    def check(labels, classes):
        raise AssertionError("checked the labels before the headers")

    with pytest.raises(DataError, match="broken.png"):
        load_image_folder(gray_folder, None, check_labels=check)


@pytest.mark.parametrize("workers", [2, 3])
def test_parallel_decoding_gives_the_sequential_result(tmp_path, workers):
    root = write_digits_folder(tmp_path, classes=3, per_class=100, sizes=(32, 24))  # over 256 files
    alone = load_image_folder(root, 16, workers=1)
    pooled = load_image_folder(root, 16, workers=workers)
    assert torch.equal(alone.images, pooled.images) and torch.equal(alone.labels, pooled.labels)


def test_too_many_pixels_for_memory_is_refused_before_decoding(gray_folder, monkeypatch):
    import trainlab.data.imagefolder as imagefolder

    monkeypatch.setattr(imagefolder, "MEMORY_SHARE", 1e-12)  # any folder is "too big"
    with pytest.raises(DataError, match=r"would take .* GiB as uint8 pixels.*data\.image_size"):
        load_image_folder(gray_folder, None)


def test_load_raw_imagefolder_has_no_own_test_split_and_prints_its_notes(gray_folder, capsys):
    (gray_folder / ".DS_Store").write_bytes(b"\0")
    raw = load_raw(DataConfig(dataset="imagefolder", root=str(gray_folder)))
    assert raw.test_images is None and raw.test_labels is None
    assert raw.classes == ("cat", "dog")
    assert raw.train_images.shape == (6, 1, 4, 5)
    assert raw.source == str(gray_folder)
    assert capsys.readouterr().out == (
        f"imagefolder: under {gray_folder} skipped 1 hidden file(s) or folder(s): .DS_Store\n"
    )


def test_load_raw_imagefolder_needs_a_root():
    with pytest.raises(DataError, match="imagefolder needs data.root: .*--set data.root=DIR"):
        load_raw(DataConfig(dataset="imagefolder"))

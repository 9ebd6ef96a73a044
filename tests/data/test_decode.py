"""Per-image work and its pools: the same answers in this process, in threads, in processes."""

import numpy as np
import pytest
from PIL import Image
from support import write_digits_folder  # tests/support.py

from trainlab.data.decode import PARALLEL_MIN, decode, map_images, peek


@pytest.fixture
def paths(tmp_path):
    """The PNG paths of 3 classes x 100 digits (even numbers 32x32, odd 20x20); 0/0.png broken."""
    root = write_digits_folder(tmp_path, classes=3, per_class=100, sizes=(32, 20))
    (root / "0" / "0.png").write_bytes(b"not an image")
    found = sorted(str(path) for path in root.rglob("*.png"))
    assert len(found) > PARALLEL_MIN  # large enough to be handed to a pool
    return found


def test_peek_reads_mode_and_size_and_names_the_error(tmp_path, paths):
    assert peek(str(tmp_path / "0" / "2.png")) == ("RGB", 32, 32)
    assert peek(str(tmp_path / "0" / "3.png")) == ("RGB", 20, 20)
    assert peek(paths[0]).startswith("UnidentifiedImageError: cannot identify image file")


GRAY, RGB = ("L", (5, 7)), ("RGB", (5, 7, 3))
ALPHA = [("RGBA", (5, 7, 4)), ("LA", (5, 7, 2))]  # PNG only: JPEG and BMP hold no alpha here


@pytest.mark.parametrize(
    ("mode", "shape", "suffix"),
    [(*kind, suffix) for kind in (GRAY, RGB) for suffix in (".png", ".jpg", ".bmp")]
    + [(*kind, ".png") for kind in ALPHA],
)
def test_peek_agrees_with_pil(tmp_path, mode, shape, suffix):
    path = tmp_path / f"image{suffix}"
    Image.fromarray(np.zeros(shape, dtype=np.uint8), mode=mode).save(path)
    with Image.open(path) as image:
        assert peek(str(path)) == (image.mode, 7, 5)


def test_a_png_broken_after_its_header_is_named_by_decoding(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.full((30, 30), 7, dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:40])  # the header survives, the pixels do not
    assert peek(str(path)) == ("L", 30, 30)
    assert decode(str(path), None).startswith(("UnidentifiedImageError", "OSError"))


def test_decode_keeps_colour_and_resizes(tmp_path, paths):
    path = str(tmp_path / "1" / "3.png")
    array = decode(path, None)
    assert array.shape == (20, 20, 3) and array.dtype == np.uint8
    assert np.array_equal(array, np.asarray(Image.open(path)))
    assert decode(path, 8).shape == (8, 8, 3)


@pytest.mark.parametrize("kind", ["process", "thread"])
def test_a_pool_gives_what_one_process_gives(paths, kind):
    alone = map_images(decode, paths, 16, workers=1)
    pooled = map_images(decode, paths, 16, workers=2, kind=kind)
    assert isinstance(pooled[0], str) and pooled[0] == alone[0]  # the error, in its place
    assert all(np.array_equal(a, b) for a, b in zip(alone[1:], pooled[1:], strict=True))
    assert map_images(peek, paths, workers=2, kind=kind) == [peek(path) for path in paths]

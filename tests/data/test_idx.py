import numpy as np
import pytest
import torch
from synthetic import write_idx, write_mnist_like  # tests/synthetic.py

from trainlab.data.idx import has_idx_files, read_idx, read_idx_pair
from trainlab.errors import DataError


@pytest.mark.parametrize("name", ["x-images-idx3-ubyte", "x-images-idx3-ubyte.gz"])
def test_read_idx_returns_the_stored_array(tmp_path, name):
    array = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    path = write_idx(tmp_path / name, array)
    values = read_idx(path)
    assert values.dtype == torch.uint8
    assert values.shape == (2, 3, 5)
    assert np.array_equal(values.numpy(), array)


def test_truncated_idx_file_names_the_file(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 3, 3), np.uint8))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: truncated .*needs 52"):
        read_idx(path)


def test_foreign_file_is_not_idx(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(b"hello world, not an IDX file")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte: not an IDX file"):
        read_idx(path)


def test_broken_gzip_names_the_file(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(b"\x1f\x8b\x08 broken")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: cannot read"):
        read_idx(path)


def test_pair_adds_a_channel_and_int64_labels(tmp_path):
    arrays = write_mnist_like(tmp_path, train=12, test=5, gz=False, side=6)
    images, labels = read_idx_pair(tmp_path, "t10k")
    assert images.shape == (5, 1, 6, 6)
    assert labels.dtype == torch.int64
    assert labels.tolist() == [0, 1, 2, 3, 4]
    assert np.array_equal(images[:, 0].numpy(), arrays["t10k-images-idx3-ubyte"])


def test_pair_with_mismatched_counts_is_an_error(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 2, 2), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="does not match the labels"):
        read_idx_pair(tmp_path, "train")


def test_has_idx_files_needs_all_four(tmp_path):
    write_mnist_like(tmp_path, train=2, test=2, gz=True, side=2)
    assert has_idx_files(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    assert not has_idx_files(tmp_path)
    assert not has_idx_files(tmp_path / "absent")

"""Test predictions of several models in one file (trainlab.probabilities)."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.errors import DataError
from trainlab.probabilities import read_predictions, write_predictions


def test_predictions_round_trip_and_name_what_each_model_got_right(tmp_path):
    labels = np.array([0, 1, 2, 1])
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.5, 0.3, 0.2], [0.2, 0.7, 0.1]])
    path = write_predictions(tmp_path / "p.npz", labels, mean=probs, vote=np.array([0, 1, 2, 0]))
    found = read_predictions(path, n_images=4)
    assert found.correct("mean").tolist() == [True, True, False, True]
    assert found.correct("vote").tolist() == [True, True, True, False]
    assert found.probabilities("vote") is None
    assert found.probabilities("mean") == pytest.approx(probs.astype(np.float32))


def test_a_file_of_other_images_or_no_file_is_refused(tmp_path):
    path = write_predictions(tmp_path / "p.npz", np.array([0, 1]), mean=np.eye(2))
    with pytest.raises(DataError, match="scores 2 test images, the prepared test split has 3"):
        read_predictions(path, n_images=3)
    with pytest.raises(DataError, match="not found; rerun `dvc repro ensemble`"):
        read_predictions(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="unreadable"):
        read_predictions(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match=r"expected \(2, classes\) or \(2,\)"):
        write_predictions(tmp_path / "x.npz", np.array([0, 1]), mean=np.eye(3))

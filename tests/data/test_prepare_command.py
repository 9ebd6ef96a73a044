"""`trainlab prepare` on an image folder: no work when nothing changed, nothing half-written
when it fails, the split planned before decoding, subsets as upper bounds."""

from __future__ import annotations

import hashlib
import os
import re

import numpy as np
import pytest
from PIL import Image
from support import write_digits_folder  # tests/support.py

from trainlab.cli import main
from trainlab.data.prepared import load_prepared

FOLDER = ["--set", "data.dataset=imagefolder", "--set", "data.root=images"]
UP_TO_DATE = re.compile(
    r"^prepare: data/prepared is up to date \(same raw files, data params, seed and code; "
    r"fingerprint [0-9a-f]{16}\); nothing to do$"
)


def snapshot(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def images(project):
    """project/images: 3 classes of 20 RGB 32x32 digits."""
    return write_digits_folder(project / "images", classes=3, per_class=20)


def prepare_line(capsys, *args: str) -> str:
    assert main(["prepare", *FOLDER, *args]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_a_second_prepare_of_unchanged_data_does_no_work(project, images, capsys):
    first = prepare_line(capsys)
    assert first.startswith("prepare: imagefolder train ")
    data_file = project / "data" / "prepared" / "data.pt"
    written = data_file.stat().st_mtime_ns
    fingerprint = load_prepared(data_file.parent).fingerprint
    second = prepare_line(capsys)
    assert UP_TO_DATE.match(second) and fingerprint in second
    assert data_file.stat().st_mtime_ns == written
    # The stamp compares sizes and times, not pixels: garbage of the same length under the
    # same time goes unnoticed, which shows the second run decoded nothing.
    victim = images / "0" / "0.png"
    info = victim.stat()
    victim.write_bytes(b"x" * info.st_size)
    os.utime(victim, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert UP_TO_DATE.match(prepare_line(capsys))


def _add_image(project):
    Image.new("RGB", (32, 32), (9, 9, 9)).save(project / "images" / "1" / "new.png")


def _touch_image(project):
    os.utime(project / "images" / "2" / "3.png", ns=(1, 1))


def _remove_data(project):
    (project / "data" / "prepared" / "data.pt").unlink()


@pytest.mark.parametrize(
    ("change", "args"),
    [
        (_add_image, []),
        (_touch_image, []),
        (_remove_data, []),
        (None, ["--set", "seed=1"]),
        (None, ["--set", "data.val_fraction=0.2"]),
        (None, ["--set", "data.image_size=16"]),
    ],
    ids=["image added", "image touched", "data.pt removed", "seed", "data param", "image size"],
)
def test_a_change_of_files_params_or_output_prepares_again(project, images, capsys, change, args):
    prepare_line(capsys)
    if change:
        change(project)
    line = prepare_line(capsys, *args)
    assert line.startswith("prepare: imagefolder train "), line
    assert UP_TO_DATE.match(prepare_line(capsys, *args))


def test_a_failed_save_leaves_no_stamp_so_the_next_run_prepares(
    project, images, capsys, monkeypatch
):
    import trainlab.data.stage as stage

    prepare_line(capsys)

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(stage, "save_prepared", disk_full)
        with pytest.raises(OSError, match="disk full"):
            main(["prepare", *FOLDER, "--set", "seed=1"])
    assert not (project / "data" / "prepared" / "stamp.json").exists()
    assert prepare_line(capsys).startswith("prepare: imagefolder train ")


def test_a_failing_prepare_writes_nothing(project, images, capsys):
    path = images / "1" / "5.png"
    path.write_bytes(path.read_bytes()[:120])  # truncated: fails while decoding, the last pass
    assert main(["prepare", *FOLDER]) == 1
    assert "cannot read 1 image(s): images/1/5.png" in capsys.readouterr().err
    assert not (project / "data").exists()


def test_a_failing_prepare_keeps_the_previous_prepared_data(project, images, capsys):
    assert main(["prepare"]) == 0  # digits
    before = snapshot(project / "data")
    (images / "2" / "0.png").write_bytes(b"not a png")
    assert main(["prepare", *FOLDER]) == 1
    assert snapshot(project / "data") == before
    capsys.readouterr()
    assert main(["prepare"]) == 0 and UP_TO_DATE.match(capsys.readouterr().out.strip())


def test_the_split_is_planned_before_any_image_is_decoded(project, images, capsys):
    for path in sorted((images / "2").iterdir())[1:]:
        path.unlink()  # class 2 keeps a single image: no stratified split
    path = images / "1" / "5.png"
    path.write_bytes(path.read_bytes()[:120])  # would fail only when decoded
    assert main(["prepare", *FOLDER]) == 2
    err = capsys.readouterr().err
    assert re.search(r"data\.test_fraction = 0\.2 cannot carve .* the smallest \(class '2'\) "
                     r"with 1 ", err), err
    assert "5.png" not in err


def test_subsets_larger_than_the_folder_use_all_of_it_and_say_so(project, images, capsys):
    line = prepare_line(capsys, "--set", "data.train_subset=10000", "--set", "data.val_subset=2000")
    assert line.startswith(
        "prepare: imagefolder train 43 (all; data.train_subset 10000) / val 5 (all; "
        "data.val_subset 2000) / test 12 images of (3, 32, 32), 3 classes, fingerprint "
    )
    data = load_prepared(project / "data" / "prepared")
    assert [len(data.train), len(data.val), len(data.test)] == [43, 5, 12]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("data.train_subset=-1", r"data\.train_subset = -1 is not allowed: must be greater than 0"),
        ("data.val_subset=many", r"data\.val_subset = 'many' is not allowed: must be a valid "),
        ("data.test_subsett=5", r"unknown key 'data\.test_subsett' \(value 5\)"),
    ],
)
def test_values_wrong_whatever_the_data_stop_before_any_work(
    project, images, capsys, setting, message
):
    before = snapshot(project)
    assert main(["prepare", *FOLDER, "--set", setting]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert snapshot(project) == before


def test_a_gray_folder_with_noise_files_prepares_with_one_note(project, capsys):
    root = write_digits_folder(project / "images", classes=2, per_class=10, mode="L")
    (root / "0" / ".DS_Store").write_bytes(b"\0")
    (root / "1" / "Thumbs.db").write_bytes(b"\0")
    assert main(["prepare", *FOLDER]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "imagefolder: under images skipped 1 hidden file(s) or folder(s): 0/.DS_Store; "
        "1 non-image file(s): 1/Thumbs.db"
    )
    assert "images of (1, 32, 32), 2 classes" in out[1]
    assert np.unique(load_prepared(project / "data" / "prepared").train.labels).tolist() == [0, 1]

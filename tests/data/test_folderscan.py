"""Listing an image folder: what counts as an image, what is skipped, and the layout errors.

Each broken layout has its own test with its message pinned."""

import pytest
from support import write_digits_folder  # tests/support.py

from trainlab.data.folderscan import scan_folder
from trainlab.errors import DataError


@pytest.fixture
def folder(tmp_path):
    """3 classes of 20 RGB 32x32 digits."""
    return write_digits_folder(tmp_path / "images", classes=3, per_class=20)


def test_classes_are_the_sorted_folder_names_and_images_their_files(folder):
    (folder / "10").mkdir()
    (folder / "10" / "a.PNG").write_bytes(b"")  # suffixes in any case; content is not read
    listing = scan_folder(folder)
    assert listing.classes == ("0", "1", "10", "2")
    assert listing.labels.tolist() == [0] * 20 + [1] * 20 + [2] + [3] * 20
    assert listing.paths[40] == str(folder / "10" / "a.PNG")
    assert listing.note() is None


def test_hidden_non_image_nested_and_loose_files_are_skipped_with_a_count(folder):
    (folder / "0" / ".DS_Store").write_bytes(b"\0")
    (folder / "1" / "._3.png").write_bytes(b"\0")  # macOS resource fork beside an image
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / "2" / "notes.txt").write_text("not an image")
    (folder / "2" / "labels.csv").write_text("a,b")
    (folder / "0" / "extra").mkdir()
    (folder / "0" / "extra" / "9.png").write_bytes(b"")
    (folder / "README.md").write_text("my dataset")
    listing = scan_folder(folder)
    assert len(listing.paths) == 60  # the 60 digits, nothing else
    assert listing.skipped == {
        "hidden": [".ipynb_checkpoints", "0/.DS_Store", "1/._3.png"],
        "other": ["2/labels.csv", "2/notes.txt"],
        "nested": ["0/extra/"],
        "loose": ["README.md"],
    }
    assert listing.note() == (
        f"imagefolder: under {folder} skipped 3 hidden file(s) or folder(s): "
        ".ipynb_checkpoints, 0/.DS_Store, 1/._3.png; 2 non-image file(s): 2/labels.csv, "
        "2/notes.txt; 1 folder(s) nested in a class folder (only images directly in a class "
        "folder are read): 0/extra/; 1 file(s) directly in the root, outside any class folder: "
        "README.md"
    )


def test_a_long_list_of_skipped_files_quotes_three(folder):
    for i in range(5):
        (folder / "0" / f"{i}.txt").write_text("")
    assert "5 non-image file(s): 0/0.txt, 0/1.txt, 0/2.txt and 2 more" in scan_folder(folder).note()


def test_a_folder_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(
        DataError, match=rf"data\.root = {tmp_path}/absent does not exist; point it at a folder "
        r"with one sub-folder of images per class"
    ):
        scan_folder(tmp_path / "absent")


def test_a_file_as_root_is_named(tmp_path):
    (tmp_path / "images.zip").write_bytes(b"PK")
    with pytest.raises(DataError, match=r"images\.zip is a file, not a folder"):
        scan_folder(tmp_path / "images.zip")


def test_a_single_class_is_an_error_naming_the_folder(tmp_path):
    root = write_digits_folder(tmp_path / "images", classes=1, per_class=5)
    with pytest.raises(
        DataError, match=rf"{root} has 1 class folder\(s\) \['0'\]; a classifier needs at least 2"
    ):
        scan_folder(root)


def test_images_without_class_folders_are_an_error_counting_them(tmp_path):
    for i in range(4):
        (tmp_path / f"{i}.png").write_bytes(b"")
    with pytest.raises(
        DataError, match=r"has 0 class folder\(s\) \[\] and 4 file\(s\) outside any class folder"
    ):
        scan_folder(tmp_path)


def test_an_empty_class_folder_is_named(folder):
    (folder / "7").mkdir()
    (folder / "7" / "notes.txt").write_text("")
    with pytest.raises(
        DataError, match=rf"no images under {folder}/7: every class folder needs at least one "
        r"image file \(\.bmp, .*\.png.*\) directly inside it; add images or remove the folder$"
    ):
        scan_folder(folder)


def test_a_class_folder_holding_only_sub_folders_hints_at_the_parent(tmp_path):
    write_digits_folder(tmp_path / "data" / "train", classes=2, per_class=3)
    write_digits_folder(tmp_path / "data" / "test", classes=2, per_class=3)
    with pytest.raises(
        DataError, match=r"no images under .*data/test, .*data/train: .*It holds sub-folders "
        r"\(test/0/, test/1/, train/0/ and 1 more\): if those are the classes, point data\.root "
        "at their parent folder"
    ):
        scan_folder(tmp_path / "data")

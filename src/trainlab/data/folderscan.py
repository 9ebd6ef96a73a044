"""List an image folder as users have it: which files are the images, and what was left out.

Only names are read here (no image is opened), so a folder that cannot work (missing, one
class, an empty class) fails in milliseconds. The rules, stated in README "Datasets":
- a class is a sub-folder of the root (sorted names give the labels 0, 1, ...);
- its images are the files directly inside it with an image suffix (any case);
- hidden entries (`.DS_Store`, `._x.png`, `.ipynb_checkpoints`) are skipped, as are files of
  other types, folders nested inside a class folder, and files directly in the root; each kind
  is counted in :meth:`FolderListing.note`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainlab.errors import DataError

# What PIL decodes and a user means by "an image"; other files are skipped with a count.
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
LAYOUT = "one sub-folder of images per class (DIR/cat/1.png, DIR/dog/2.png)"
SKIP_KINDS = {  # kind -> how the note names it
    "hidden": "hidden file(s) or folder(s)",
    "other": "non-image file(s)",
    "nested": "folder(s) nested in a class folder (only images directly in a class folder "
    "are read)",
    "loose": "file(s) directly in the root, outside any class folder",
}
EXAMPLES = 3  # paths quoted per message: enough to find the files, short enough to read


@dataclass(frozen=True, eq=False)
class FolderListing:
    """The images of an image folder, class by class, and what was skipped.

    Attributes:
        root: the folder given as `data.root`.
        classes: class folder names, sorted; a label is an index into it.
        paths: every image's path, grouped by class, sorted by name inside a class.
        labels: (N,) int64, the class of each path.
        skipped: kind (a key of SKIP_KINDS) -> paths relative to root, sorted.
    """

    root: Path
    classes: tuple[str, ...]
    paths: tuple[str, ...]
    labels: np.ndarray
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def note(self) -> str | None:
        """One line counting what was skipped, with a few examples; None when nothing was."""
        parts = [
            f"{len(names)} {SKIP_KINDS[kind]}: {quote(names)}"
            for kind, names in self.skipped.items()
            if names
        ]
        return f"imagefolder: under {self.root} skipped {'; '.join(parts)}" if parts else None


def quote(names: list[str], limit: int = EXAMPLES) -> str:
    """'a, b, c and 4 more': a few names of a long list."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def scan_folder(root: Path) -> FolderListing:
    """List the images under `root/<class>/`.

    Raises:
        DataError: `root` does not exist or is not a folder, has fewer than two class
            folders, or a class folder holds no image; the message names the path.
    """
    if not root.exists():
        raise DataError(f"imagefolder: data.root = {root} does not exist; point it at a folder "
                        f"with {LAYOUT}")
    if not root.is_dir():
        raise DataError(f"imagefolder: data.root = {root} is a file, not a folder; point it at "
                        f"a folder with {LAYOUT}")
    skipped: dict[str, list[str]] = {kind: [] for kind in SKIP_KINDS}
    class_dirs = []
    for entry in _entries(root):
        if entry.name.startswith("."):
            skipped["hidden"].append(entry.name)
        elif entry.is_dir():
            class_dirs.append(entry)
        else:
            skipped["loose"].append(entry.name)
    if len(class_dirs) < 2:
        found = [entry.name for entry in class_dirs]
        loose = len(skipped["loose"])
        raise DataError(
            f"imagefolder: {root} has {len(class_dirs)} class folder(s) {found}"
            + (f" and {loose} file(s) outside any class folder" if loose else "")
            + f"; a classifier needs at least 2: give data.root a folder with {LAYOUT}"
        )
    paths: list[str] = []
    labels: list[int] = []
    empty: list[str] = []
    for label, folder in enumerate(class_dirs):
        images = _class_images(Path(folder.path), folder.name, skipped)
        if not images:
            empty.append(folder.path)
        paths.extend(images)
        labels.extend([label] * len(images))
    if empty:
        raise DataError(_empty_message(empty, skipped))
    return FolderListing(
        root=root,
        classes=tuple(entry.name for entry in class_dirs),
        paths=tuple(paths),
        labels=np.asarray(labels, dtype=np.int64),
        skipped={kind: sorted(names) for kind, names in skipped.items()},
    )


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as found:
            return sorted(found, key=lambda entry: entry.name)
    except OSError as err:
        raise DataError(
            f"imagefolder: cannot list {folder} ({err}); check that it is readable"
        ) from err


def _class_images(folder: Path, name: str, skipped: dict[str, list[str]]) -> list[str]:
    """The image paths directly in one class folder; the rest goes into `skipped`."""
    images = []
    for entry in _entries(folder):
        relative = f"{name}/{entry.name}"
        if entry.name.startswith("."):
            skipped["hidden"].append(relative)
        elif entry.is_dir():
            skipped["nested"].append(relative + "/")
        elif entry.is_file() and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES:
            images.append(entry.path)
        else:  # another type, or a link to nothing
            skipped["other"].append(relative)
    return images


def _empty_message(empty: list[str], skipped: dict[str, list[str]]) -> str:
    message = (
        f"imagefolder: no images under {quote(empty)}: every class folder needs at least one "
        f"image file ({', '.join(sorted(IMAGE_SUFFIXES))}) directly inside it; add images or "
        "remove the folder"
    )
    names = {Path(path).name for path in empty}
    nested = [path for path in skipped["nested"] if path.split("/")[0] in names]
    if nested:  # the classes may sit one level deeper: root/train/cat/1.png
        message += (
            f". It holds sub-folders ({quote(nested)}): if those are the classes, point "
            "data.root at their parent folder"
        )
    return message

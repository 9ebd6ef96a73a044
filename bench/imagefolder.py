"""Benchmark: preparing an image folder, images per second, before and after, side by side.

The folder: 10,000 28x28 grayscale PNGs in 10 class folders, written from Fashion-MNIST's
test images (scikit-learn's digits upscaled when Fashion-MNIST is missing). The variants,
interleaved round by round in one process:
- before: `load_image_folder` as of BASELINE (torchvision's ImageFolder scan, every header
  read, every image decoded in this process), loaded from git;
- processes / threads: today's loader (own scan, headers, then decoding) on every usable core
  in forked processes or in threads;
- one process: today's loader with workers=1.
CPU time counts the worker processes too (getrusage of the finished children). Also timed:
the checks before decoding (listing and headers: what a broken folder costs), and
a second `trainlab prepare` of the unchanged folder (the stamp check alone).

    python -m bench.imagefolder [--quick] [--rounds R] [--images N] [--folder DIR]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

from bench.common import FASHION_MNIST, median_ratio, timed, write_result

BASELINE = "729c6b63f48bbf18794b17cda243ac359b4a1796"  # last change to imagefolder.py before
ROOT = Path(__file__).resolve().parents[1]


def write_folder(folder: Path, count: int) -> str:
    """`count` 28x28 gray PNGs, class by class; returns where the pixels came from."""
    from PIL import Image

    if (FASHION_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        from trainlab.data.idx import read_idx_pair

        images, labels = read_idx_pair(FASHION_MNIST, "t10k")
        pixels, targets, source = images[:, 0].numpy(), labels.numpy(), "Fashion-MNIST t10k"
    else:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        ink = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
        pixels = np.stack([np.asarray(Image.fromarray(a).resize((28, 28))) for a in ink])
        targets, source = bunch.target, "scikit-learn digits upscaled to 28x28"
    repeat = -(-count // len(pixels))  # ceil: digits has 1,797 images
    pixels, targets = np.tile(pixels, (repeat, 1, 1))[:count], np.tile(targets, repeat)[:count]
    for i, (array, label) in enumerate(zip(pixels, targets, strict=True)):
        path = folder / f"class_{label}" / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(path)
    return source


def cpu_s() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers)."""
    import resource

    own, children = (resource.getrusage(who) for who in
                     (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def interleave_with_children(variants: dict, rounds: int) -> dict[str, dict[str, list[float]]]:
    """bench.common.interleave, with CPU time that includes the worker processes."""
    names = list(variants)
    out = {name: {"wall": [], "cpu": []} for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            cpu = cpu_s()
            wall, _, _ = timed(variants[name])
            out[name]["wall"].append(wall)
            out[name]["cpu"].append(cpu_s() - cpu)
        print(f"  round {r + 1}/{rounds}: " + ", ".join(
            f"{name} {out[name]['wall'][-1]:.2f} s ({out[name]['cpu'][-1]:.2f} s CPU)"
            for name in names), flush=True)
    return out


def baseline_loader():
    """The loader as of BASELINE, from git; None when this is not a clone holding it."""
    try:
        source = subprocess.run(
            ["git", "show", f"{BASELINE}:src/trainlab/data/imagefolder.py"], cwd=ROOT,
            capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("imagefolder_before")
    exec(compile(source, f"imagefolder.py@{BASELINE[:7]}", "exec"), module.__dict__)  # noqa: S102
    return module.load_image_folder


def noop_prepare_s(folder: Path, rounds: int) -> float:
    """Median seconds of a second `trainlab prepare` (in this process) of the same folder."""
    import contextlib
    import io
    import os

    from trainlab.config.params import load_config
    from trainlab.data.stage import run_prepare

    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        (Path(tmp) / "params.yaml").write_text((ROOT / "params.yaml").read_text())
        here = os.getcwd()
        os.chdir(tmp)
        try:
            cfg = load_config("params.yaml", ["data.dataset=imagefolder", f"data.root={folder}"])
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                run_prepare(cfg, None)  # the real one: writes data/prepared and its stamp
                times = [timed(lambda: run_prepare(cfg, None))[0] for _ in range(rounds)]
            assert "is up to date" in out.getvalue().splitlines()[-1], out.getvalue()
        finally:
            os.chdir(here)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds (make bench)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--folder", type=Path, default=None,
                        help="where to write the PNGs (default: a temporary folder)")
    parser.add_argument("--results", type=Path, default=None, help="folder for the JSON")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else args.rounds

    from trainlab.data.decode import map_images, peek, usable_cores
    from trainlab.data.folderscan import scan_folder
    from trainlab.data.imagefolder import load_image_folder

    with tempfile.TemporaryDirectory(prefix="bench-imagefolder-", dir=args.folder) as tmp:
        folder = Path(tmp) / "images"
        wrote_s, _, source = timed(lambda: write_folder(folder, args.images))
        print(f"wrote {args.images} PNGs ({source}) in {wrote_s:.1f} s to {folder}")
        before = baseline_loader()
        variants = {
            "processes": lambda: load_image_folder(folder, None, pool="process"),
            "threads": lambda: load_image_folder(folder, None, pool="thread"),
            "one process": lambda: load_image_folder(folder, None, workers=1),
        }
        if before is not None:
            variants = {"before": lambda: before(folder, None)} | variants
        reference = variants["one process"]()  # warm-up: imports, the page cache
        for name, run in variants.items():  # every variant reads the same pixels
            images = run()
            images = images[0] if isinstance(images, tuple) else images.images
            assert np.array_equal(images.numpy(), reference.images.numpy()), name
        times = interleave_with_children(variants, rounds)
        checks = [timed(lambda: map_images(peek, scan_folder(folder).paths))[0]
                  for _ in range(rounds)]
        noop = noop_prepare_s(folder, rounds)

    per_s = {name: args.images / statistics.median(t["wall"]) for name, t in times.items()}
    per_cpu_s = {name: args.images / statistics.median(t["cpu"]) for name, t in times.items()}
    ratios = {name: median_ratio(times["before"]["wall"], t["wall"])
              for name, t in times.items() if "before" in times and name != "before"}
    for name, rate in per_s.items():
        speedup = f", {ratios[name]:.2f}x before" if name in ratios else ""
        print(f"{name:>12}: {rate:7.0f} images/s{speedup}; {per_cpu_s[name]:7.0f} images per "
              "CPU second")
    print(f"checks before decoding (listing + headers): {statistics.median(checks):.2f} s; "
          f"second prepare of the unchanged folder: {noop * 1000:.0f} ms")
    command = "python -m bench.imagefolder " + shlex.join(argv if argv is not None else
                                                          sys.argv[1:])
    write_result("imagefolder", {
        "images": args.images, "source": source, "rounds": rounds, "workers": usable_cores(),
        "baseline": BASELINE if before is not None else None,
        "images_per_s": per_s, "speedup_over_before": ratios,
        "images_per_cpu_s": per_cpu_s,
        "wall_s": {name: t["wall"] for name, t in times.items()},
        "cpu_s": {name: t["cpu"] for name, t in times.items()},
        "checks_before_decoding_s": statistics.median(checks),
        "noop_prepare_s": noop,
    }, command.strip(), args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

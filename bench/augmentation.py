"""Benchmark 3: trainlab's on-device batch augmentation against torchvision per sample.

trainlab: `BatchAugment` with the grid's `full` preset on float batches already on the
device (one affine resampling per batch, every parameter drawn per sample in one call).
torchvision: `transforms.v2` applied per sample by a torch `DataLoader` over uint8 images,
the same kinds of operation: RandomResizedCrop (crop/scale and stretch), RandomAffine
(translate, rotate, shear), horizontal flip, ColorJitter (brightness, contrast), then the
float conversion. (torchvision's brightness is a factor, trainlab's an offset; both
resample with bilinear interpolation, torchvision twice, trainlab once.)

    python -m bench.augmentation [--quick] [--images N] [--workers W ...]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import torch

from bench.common import fashion_mnist, interleave, median_ratio, quiet, set_threads, write_result

TARGET = 5.0  # trainlab's images/s over torchvision's, on the CPU
FULL = {"hflip": 0.5, "crop_scale": 0.15, "translate": 0.1, "brightness": 0.2,
        "contrast": 0.2, "rotate": 10.0, "stretch": 0.1, "shear": 8.0}  # params.yaml grid


def torchvision_pipeline(side: int):
    from torchvision.transforms import v2

    crop, stretch = FULL["crop_scale"], FULL["stretch"]
    return v2.Compose([
        v2.RandomResizedCrop(side, scale=((1 - crop) ** 2, 1.0),
                             ratio=((1 - stretch) / (1 + stretch), (1 + stretch) / (1 - stretch)),
                             antialias=False),
        v2.RandomAffine(degrees=FULL["rotate"], translate=(FULL["translate"],) * 2,
                        shear=FULL["shear"], interpolation=v2.InterpolationMode.BILINEAR),
        v2.RandomHorizontalFlip(FULL["hflip"]),
        v2.ColorJitter(brightness=FULL["brightness"], contrast=FULL["contrast"]),
        v2.ToDtype(torch.float32, scale=True),
    ])


class PerSample(torch.utils.data.Dataset):
    """uint8 images (N, C, H, W) and labels, transformed one image at a time."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(self.images[index]), self.labels[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and rounds")
    parser.add_argument("--images", type=int, default=None, help="images per pass")
    parser.add_argument("--batch", type=int, default=512, help="images per batch")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2],
                        help="DataLoader worker processes to try for torchvision (best counts)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    quiet()
    set_threads(args.threads)
    from trainlab.config.schema import AugmentationConfig
    from trainlab.data.augment import BatchAugment

    images = args.images or (4096 if args.quick else 10_000)
    rounds = args.rounds or (3 if args.quick else 5)
    data = fashion_mnist()
    raw, labels = data.train.images[:images], data.train.labels[:images]
    on_device = raw.float().div(255.0)  # what trainlab's DeviceLoader holds
    augment = BatchAugment(AugmentationConfig(**FULL))
    transform = torchvision_pipeline(raw.shape[-1])

    def trainlab_pass():
        for start in range(0, images, args.batch):
            augment(on_device[start:start + args.batch])

    def torchvision_pass(workers: int):
        loader = torch.utils.data.DataLoader(
            PerSample(raw, labels, transform), batch_size=args.batch, shuffle=False,
            num_workers=workers, persistent_workers=False,
        )
        for _ in loader:
            pass

    variants = {"trainlab": trainlab_pass}
    variants |= {f"torchvision_w{w}": (lambda w=w: torchvision_pass(w)) for w in args.workers}
    trainlab_pass(), torchvision_pass(0)  # warm-up
    print(f"augmentation: {images} Fashion-MNIST images per pass, batch {args.batch}, "
          f"{args.threads} thread(s), {rounds} rounds", flush=True)
    times = interleave(variants, rounds)
    best = min((name for name in variants if name != "trainlab"),
               key=lambda name: sorted(times[name]["wall"])[len(times[name]["wall"]) // 2])
    ratio = median_ratio(times[best]["wall"], times["trainlab"]["wall"])
    per_s = {name: round(images / sorted(t["wall"])[len(t["wall"]) // 2], 1)
             for name, t in times.items()}

    # The sampling grid alone: F.affine_grid against trainlab's broadcasting (data/affine.py).
    grid = grid_timings(augment, args.batch, raw.shape[-2], raw.shape[-1])
    print(f"trainlab {per_s['trainlab']:.0f} img/s; torchvision (best: {best}) "
          f"{per_s[best]:.0f} img/s; ratio {ratio:.1f}x (target >= {TARGET}x)", flush=True)
    print(f"sampling grid per {args.batch}-image batch: affine_grid {grid['affine_grid_ms']} ms,"
          f" broadcasting {grid['broadcast_ms']} ms", flush=True)
    command = "python -m bench.augmentation " + shlex.join(sys.argv[1:] if argv is None else argv)
    write_result("augmentation", {
        "images": images, "batch": args.batch, "threads": args.threads, "rounds": rounds,
        "preset": FULL, "images_per_s": per_s, "baseline": best, "ratio": round(ratio, 2),
        "target": TARGET, "meets_target": ratio >= TARGET, "wall_s": times,
        "sampling_grid": grid,
    }, command.strip())
    return 0


def grid_timings(augment, batch: int, height: int, width: int, repeats: int = 50) -> dict:
    import torch.nn.functional as F

    from trainlab.data.affine import sampling_grid

    theta = augment.sample_theta(batch, height, width, torch.device("cpu"))
    shape = [batch, 1, height, width]
    out = {}
    for name, fn in (("affine_grid_ms", lambda: F.affine_grid(theta, shape, align_corners=False)),
                     ("broadcast_ms", lambda: sampling_grid(theta, height, width))):
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            samples.append((time.perf_counter() - start) / repeats * 1000)
        out[name] = round(sorted(samples)[2], 3)
    grid = F.affine_grid(theta, shape, align_corners=False)
    out["max_abs_difference"] = float((grid - sampling_grid(theta, height, width)).abs().max())
    return out


if __name__ == "__main__":
    sys.exit(main())

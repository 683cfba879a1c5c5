"""The aeon loader (``AeonDataLoader`` + neon's transformers) against a plain Pillow +
``torch.utils.data.DataLoader`` pipeline doing the same work.

Both read the same JPEG files (written once into a temporary directory with an aeon manifest),
decode them with Pillow, take aeon's centred crop (``scale`` 0.875 of the largest square),
shrink it to 224 x 224 with an area filter, reorder to BGR ``(C, H, W)`` uint8 in worker
processes, then in the training process cast to float32, subtract neon's BGR mean and one-hot
the labels; the plain pipeline is what a PyTorch user would write for the validation loader of
neon's ``examples/imagenet/data.py``.

Two measurements per pipeline, each the best of ``--repeats`` epochs after a warm-up epoch,
the two pipelines' epochs alternating:
images/s when the loop does nothing but take minibatches, and the seconds the loop waits for
data when each minibatch is followed by ``--step-ms`` of simulated training work.

Usage: ``python benchmarks/aeon_loader.py [--images 512] [--batch 32] [--workers 2]
[--step-ms 0] [--repeats 3] [--quick]``. Prints images/s of both and their ratio
(neon_torch / plain; target >= 0.95).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
import torch.utils.data
from PIL import Image

from neon_torch.backends import gen_backend
from neon_torch.data.aeon import AeonDataLoader
from neon_torch.data.dataloader_transformers import BGRMeanSubtract, OneHot, TypeCast

SIZE, SCALE, NCLASS = 224, 0.875, 1000
MEAN = torch.tensor([127.0, 119.0, 104.0]).view(1, 3, 1, 1)


def write_dataset(root: Path, n: int) -> Path:
    """``n`` 320 x 256 JPEGs (smooth patterns plus noise) and an aeon manifest."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:256, 0:320]
    rows = ["@FILE\tSTRING"]
    for i in range(n):
        f = rng.uniform(0.01, 0.05, 3)
        img = np.stack([127 + 100 * np.sin(f[c] * (xx + 2 * yy) + c) for c in range(3)], -1)
        img = np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(root / f"{i}.jpg", quality=90)
        rows.append(f"{i}.jpg\t{i % NCLASS}")
    manifest = root / "index.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


class PlainImages(torch.utils.data.Dataset):
    """Pillow decode, centred crop, box-filter resize, BGR (C, H, W) uint8, integer label."""

    def __init__(self, manifest: Path) -> None:
        lines = manifest.read_text().splitlines()[1:]
        self.items = [
            (manifest.parent / p, int(lbl)) for p, lbl in (ln.split("\t") for ln in lines)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        path, label = self.items[i]
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            side = min(w, h) * SCALE
            x0, y0 = round((w - side) / 2), round((h - side) / 2)
            box = (x0, y0, x0 + round(side), y0 + round(side))
            im = im.crop(box).resize((SIZE, SIZE), Image.Resampling.BOX)
            arr = np.asarray(im)[:, :, ::-1].transpose(2, 0, 1).copy()
        return torch.from_numpy(arr), label


def plain_batches(
    loader: torch.utils.data.DataLoader,
) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    for x, y in loader:
        yield x.float() - MEAN, torch.nn.functional.one_hot(y, NCLASS).float()


def run_epoch(batches: Iterable, step_s: float) -> tuple[float, float, int]:
    """(seconds, seconds waiting for data, images) of one pass over ``batches``."""
    waited, images = 0.0, 0
    start = last = time.perf_counter()
    for x, _ in batches:
        now = time.perf_counter()
        waited += now - last
        images += x.shape[0]
        if step_s:
            time.sleep(step_s)
        last = time.perf_counter()
    return time.perf_counter() - start, waited, images


def measure(
    pipelines: dict[str, Iterable], repeats: int, step_s: float
) -> dict[str, tuple[float, float]]:
    """Per pipeline (best images/s, least wait in s) over ``repeats`` epochs after a warm-up
    epoch each; the pipelines' epochs alternate so that drifts in machine load hit all."""
    for batches in pipelines.values():
        run_epoch(batches, step_s)
    best = {name: (0.0, float("inf")) for name in pipelines}
    for _ in range(repeats):
        for name, batches in pipelines.items():
            secs, waited, images = run_epoch(batches, step_s)
            rate, wait = best[name]
            best[name] = (max(rate, images / secs), min(wait, waited))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 8))
    parser.add_argument("--step-ms", type=float, default=0.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="64 images, batch 16, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.images, args.batch, args.repeats = 64, 16, 1
    gen_backend("cpu", batch_size=args.batch)
    os.environ["NEON_TORCH_AEON_WORKERS"] = str(args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_dataset(Path(tmp), args.images)
        config = {
            "manifest_filename": str(manifest),
            "manifest_root": tmp,
            "batch_size": args.batch,
            "etl": [{"type": "image", "height": SIZE, "width": SIZE}, {"type": "label"}],
            "augmentation": [{"type": "image", "scale": [SCALE, SCALE], "crop_enable": True}],
        }

        def neon_torch_loader() -> Iterable:
            dl = OneHot(AeonDataLoader(config), index=1, nclasses=NCLASS)
            return BGRMeanSubtract(TypeCast(dl, index=0, dtype=np.float32), index=0)

        def plain_loader() -> Iterable:
            loader = torch.utils.data.DataLoader(
                PlainImages(manifest),
                batch_size=args.batch,
                num_workers=args.workers,
                persistent_workers=args.workers > 0,
            )

            class Epochs:
                def __iter__(self) -> Iterable:
                    return iter(plain_batches(loader))

            return Epochs()

        step_s = args.step_ms / 1000.0
        results = measure(
            {"neon_torch": neon_torch_loader(), "plain": plain_loader()}, args.repeats, step_s
        )
        (ours, ours_wait), (plain, plain_wait) = results["neon_torch"], results["plain"]
    print(
        f"aeon loader: {args.images} JPEGs 320x256 -> {SIZE}x{SIZE}, batch {args.batch}, "
        f"{args.workers} workers, step {args.step_ms:g} ms"
    )
    print(f"  neon_torch AeonDataLoader: {ours:8.1f} images/s, waited {ours_wait:.3f} s/epoch")
    print(f"  plain Pillow DataLoader:   {plain:8.1f} images/s, waited {plain_wait:.3f} s/epoch")
    print(f"  ratio (neon_torch / plain): {ours / plain:.3f}  (target >= 0.95)")


if __name__ == "__main__":
    main()

"""Training and generation speed of the network generators at each image size, on one device.

    python benchmarks/bench_training.py [--device D] [--sizes 128,256] [--steps 6] [--batch 16]

Times `--steps` training steps (after one warm-up step) of each network on random batches of
the right shape, so no dataset is needed, and prints the milliseconds per step, the seconds an
epoch over taichi1's 1186 training images would take, and the milliseconds to generate one
frame. On the CPU the figures are those of a quiet machine: close other programs first.
"""
import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from DanceUtils import pick_device  # noqa: E402
from GenGAN import GenGAN  # noqa: E402
from DanceTrain import to_device  # noqa: E402
from GenVanilla import GenVanillaNN  # noqa: E402

EPOCH_IMAGES = 1186   # taichi1's first 80 %: what DanceEval trains on


class NoDataset:
    """Just enough of a VideoSkeleton for building a generator: its directory."""
    directory = "/nonexistent"


def synchronise(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench(name, size, device, steps, batch):
    torch.manual_seed(0)
    if name == "gan":
        gen = GenGAN(NoDataset(), image_size=size, device=device)
    else:
        gen = GenVanillaNN(NoDataset(), optSkeOrImage=1 if name == "vanilla_ske" else 2, image_size=size,
                           device=device)
    source_shape = (batch, 26) if name == "vanilla_ske" else (batch, 3, size, size)
    source = to_device(torch.rand(source_shape) * 2 - 1, device)
    target = to_device(torch.rand(batch, 3, size, size) * 2 - 1, device)
    gen.netG.train()
    gen.make_optimizers()
    gen.train_step(source, target)                       # warm-up
    synchronise(device)
    start = time.perf_counter()
    for _ in range(steps):
        gen.train_step(source, target)
    synchronise(device)
    step_ms = 1000 * (time.perf_counter() - start) / steps
    gen.netG.eval()
    one = source[:1]
    with torch.inference_mode():
        gen.netG(one)
        synchronise(device)
        start = time.perf_counter()
        for _ in range(steps):
            gen.netG(one)
        synchronise(device)
    frame_ms = 1000 * (time.perf_counter() - start) / steps
    epoch_s = step_ms / 1000 * EPOCH_IMAGES / batch
    print(f"| {name} | {size} | {step_ms:.0f} | {epoch_s:.0f} | {frame_ms:.1f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--sizes", default="128,256")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    device = pick_device(args.device)
    print(f"device {device}, batch {args.batch}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| generator | px | ms per step | s per epoch (1186 images) | ms per frame |")
    print("|---|---|---|---|---|")
    for size in map(int, args.sizes.split(",")):
        for name in ("vanilla_ske", "vanilla_image", "gan"):
            bench(name, size, device, args.steps, args.batch)


if __name__ == "__main__":
    main()

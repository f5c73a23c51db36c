"""Training and generation speed of the network generators at each image size, on one device, against
what the same machine does on its best kernel.

    python benchmarks/bench_training.py [--device D] [--sizes 128,256] [--steps 6] [--batch 16]

For each network and size: the FLOPs of one training step (counted once with
torch.utils.flop_counter.FlopCounterMode: G's and, for the GAN, D's forward and backward), the
seconds per step over `--steps` steps after one warm-up step (random batches of the right shape:
no dataset needed), images/s, the GFLOP/s achieved, the seconds an epoch over taichi1's 1186
training images takes, and the milliseconds to generate one frame. Before and after, the same run
measures a 2048 x 2048 matrix product in bf16 and float32: the machine's peak on its best kernel,
so that "achieved" reads as a share of it. On a CPU the figures are those of a quiet machine:
close other programs first.
"""
import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from DanceTrain import to_device  # noqa: E402
from DanceUtils import pick_device  # noqa: E402
from GenGAN import GenGAN  # noqa: E402
from DanceNetworks import UPSAMPLINGS  # noqa: E402
from GenVanilla import UPSAMPLE, GenVanillaNN  # noqa: E402

EPOCH_IMAGES = 1186   # taichi1's first 80 %: what DanceEval trains on


class Dataset:
    """Just enough of a VideoSkeleton to build a generator: no files, no plate."""
    directory = "/nonexistent"
    has_plate = False
    fingerprint = "benchmark"

    def __init__(self, size):
        self.image_size = size


def synchronise(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(device, dtype, n=2048, repeats=10):
    """GFLOP/s of an n x n matrix product in `dtype`: the machine's best kernel."""
    a, b = torch.rand(n, n, device=device, dtype=dtype), torch.rand(n, n, device=device, dtype=dtype)
    a @ b
    synchronise(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    synchronise(device)
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def bench(name, size, device, steps, batch, upsample):
    torch.manual_seed(0)
    data = Dataset(size)
    if name == "gan":
        gen = GenGAN(data, image_size=size, device=device, upsample=upsample)
    else:
        gen = GenVanillaNN(data, optSkeOrImage=1 if name == "vanilla_ske" else 2, image_size=size, device=device,
                           upsample=upsample)
    source_shape = (batch, 26) if name == "vanilla_ske" else (batch, 3, size, size)
    source = to_device(torch.rand(source_shape) * 2 - 1, device)
    target = to_device(torch.rand(batch, 3, size, size) * 2 - 1, device)
    gen.netG.train()
    gen.make_optimizers()
    with FlopCounterMode(display=False) as counter:   # also the warm-up step
        gen.train_step(source, target)
        gen.average_weights()
    flops = counter.get_total_flops()
    synchronise(device)
    start = time.perf_counter()
    for _ in range(steps):
        gen.train_step(source, target)
        gen.average_weights()   # as DanceTrain.train does after each step
    synchronise(device)
    step_s = (time.perf_counter() - start) / steps
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
    epoch_s = step_s * EPOCH_IMAGES / batch
    print(f"| {name} | {size} | {flops / 1e9:.1f} | {step_s:.3f} | {batch / step_s:.1f} | {flops / step_s / 1e9:.0f} "
          f"| {epoch_s:.0f} | {frame_ms:.1f} |", flush=True)
    return flops / step_s / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--sizes", default="128,256")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--upsample", choices=UPSAMPLINGS, default=UPSAMPLE,
                        help="the U-Net's decoder (the trainers use the default; the others load from old files)")
    parser.add_argument("--gens", default="vanilla_ske,vanilla_image,gan", help="comma-separated (default: %(default)s)")
    args = parser.parse_args()
    device = pick_device(args.device)
    peaks = {dtype: matmul_gflops(device, dtype) for dtype in (torch.bfloat16, torch.float32)}
    print(f"device {device}, batch {args.batch}, decoder {args.upsample}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"2048^2 matmul: bf16 {peaks[torch.bfloat16]:.0f} GFLOP/s, float32 {peaks[torch.float32]:.0f} GFLOP/s")
    print("| generator | px | GFLOP per step | s per step | images/s | GFLOP/s achieved | "
          "s per epoch (1186 images) | ms per frame |")
    print("|---|---|---|---|---|---|---|---|")
    achieved = {}
    for size in map(int, args.sizes.split(",")):
        for name in args.gens.split(","):
            achieved[name, size] = bench(name, size, device, args.steps, args.batch, args.upsample)
    after = matmul_gflops(device, torch.bfloat16)
    print(f"\nbf16 matmul peak again after the networks: {after:.0f} GFLOP/s. The GAN step at "
          + ", ".join(f"{size} px: {100 * g / peaks[torch.bfloat16]:.0f} %" for (name, size), g in achieved.items()
                      if name == "gan") + " of the bf16 peak measured before.")


if __name__ == "__main__":
    main()

"""How fast each network trains on one GPU: one command, at most about 8 minutes.

    python benchmarks/bench_gpu.py                       # the GPU (cuda), the full table
    python benchmarks/bench_gpu.py --device cpu --quick  # a few seconds: checks that it runs (the tests)

For whoever has a GPU and wonders which settings to train with: for each network (vanilla_ske,
vanilla_image, gan) at 128 px, the seconds one epoch over taichi1's 1186 training images takes,
in float32 and in bf16 (autocast), with and without channels-last memory, at batch 16, 64 and 256,
with the images preloaded on the device (so no data loading is measured), and then with
torch.compile on the fastest eager settings of each network and batch. Each figure is the mean
of timed steps after warm-up steps, scaled to the epoch's number of steps. The table is printed
and written to --out (default: benchmarks/bench_gpu_<device>.md). The trainers' defaults on CUDA
(DanceTrain.MIXED_PRECISION, CHANNELS_LAST, the batch) change only on the strength of such a table
measured on a GPU; docs/BENCHMARKS.md has the tables measured so far, with their machines.
"""
import argparse
import math
import platform
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "benchmarks"))

import DanceTrain  # noqa: E402
from bench_training import EPOCH_IMAGES, Dataset, synchronise  # noqa: E402
from DanceUtils import atomic_path, pick_device  # noqa: E402
from GenGAN import GenGAN  # noqa: E402
from GenVanilla import NGF, GenVanillaNN  # noqa: E402

NETWORKS = ("vanilla_ske", "vanilla_image", "gan")
BUDGET_SECONDS = 7.5 * 60    # the whole run; what is left out for time is said in the table


def make(name, size, device, width):
    """A generator and its optimisers, as DanceTrain.train makes them."""
    data = Dataset(size)
    if name == "gan":
        gen = GenGAN(data, image_size=size, device=device, ngf=width, ndf=width)
    else:
        gen = GenVanillaNN(data, optSkeOrImage=1 if name == "vanilla_ske" else 2, image_size=size, device=device,
                           ngf=width)
    gen.netG.train()
    gen.make_optimizers()
    return gen


def preloaded(name, size, device):
    """taichi1-sized training data on the device: (sources, targets) for EPOCH_IMAGES items."""
    shape = (EPOCH_IMAGES, 26) if name == "vanilla_ske" else (EPOCH_IMAGES, 3, size, size)
    sources = torch.rand(shape, device=device) * 2 - 1
    targets = torch.rand(EPOCH_IMAGES, 3, size, size, device=device) * 2 - 1
    return sources, targets


def epoch_seconds(*args):
    """(seconds per epoch, warm-up seconds) of one configuration, or (None, the error) when it fails
    (out of memory, a compiler error...): one failure does not end the run."""
    try:
        return measure(*args)
    except Exception as err:   # noqa: BLE001 - reported in the table
        return None, f"{type(err).__name__}: {str(err).splitlines()[0][:60] if str(err) else ''}"
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def measure(name, size, device, batch, bf16, channels_last, compiled, steps, warmup, width, data):
    """(seconds per epoch, seconds of warm-up incl. compilation) for one configuration."""
    DanceTrain.MIXED_PRECISION, DanceTrain.CHANNELS_LAST = bf16, channels_last
    torch.manual_seed(0)
    gen = make(name, size, device, width)
    if compiled:   # the networks as the training step calls them
        gen.trainG = torch.compile(gen.netG)
        if name == "gan":
            gen.trainD = gen.netD = torch.compile(gen.netD)
    sources, targets = data

    def step():
        index = torch.randint(0, EPOCH_IMAGES, (batch,), device=device)
        gen.train_step(DanceTrain.to_device(sources[index], device), DanceTrain.to_device(targets[index], device))
        gen.average_weights()   # as DanceTrain.train does after each step

    start = time.perf_counter()
    for _ in range(warmup):
        step()
    synchronise(device)
    warm = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronise(device)
    per_step = (time.perf_counter() - start) / steps
    return per_step * math.ceil(EPOCH_IMAGES / batch), warm


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cuda (default when there is one), cpu, ...")
    parser.add_argument("--quick", action="store_true", help="64 px, batch 4, float32, no compile: checks the path")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--out", default=None, help="where the table goes (default: benchmarks/bench_gpu_<device>.md)")
    args = parser.parse_args(argv)
    device = pick_device(args.device)
    size, batches = (64, (4,)) if args.quick else (args.size, (16, 64, 256))
    precisions = (False,) if args.quick else (False, True)
    layouts = (False,) if args.quick or device.type != "cuda" else (False, True)
    steps, warmup, width = (2, 1, 8) if args.quick else (10, 3, NGF)
    name_of_device = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    header = [f"# bench_gpu: seconds per epoch ({EPOCH_IMAGES} images of {size} px, preloaded on the device)", "",
              f"{name_of_device}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}"
              + (", quick run" if args.quick else ""), "",
              "| network | batch | precision | channels-last | compiled | s/epoch | images/s | warm-up s |",
              "|---|---|---|---|---|---|---|---|"]
    print("\n".join(header), flush=True)
    rows, started = list(header), time.perf_counter()

    def report(name, batch, bf16, layout, compiled, seconds, warm):
        if seconds is None:
            result = f"{warm or 'skipped: out of time'} | | |"
        else:
            result = f"{seconds:.2f} | {EPOCH_IMAGES / seconds:.0f} | {warm:.1f} |"
        row = (f"| {name} | {batch} | {'bf16' if bf16 else 'float32'} | {'yes' if layout else 'no'} | "
               f"{'yes' if compiled else 'no'} | " + result)
        rows.append(row)
        print(row, flush=True)

    for name in NETWORKS:
        data = preloaded(name, size, device)
        for batch in batches:
            best = None
            for bf16 in precisions:
                for layout in layouts:
                    seconds, warm = epoch_seconds(name, size, device, batch, bf16, layout, False, steps, warmup,
                                                  width, data)
                    report(name, batch, bf16, layout, False, seconds, warm)
                    if seconds is not None and (best is None or seconds < best[0]):
                        best = (seconds, bf16, layout)
            if not args.quick and best is not None:   # torch.compile on the fastest eager settings, while there is time
                _, bf16, layout = best
                if time.perf_counter() - started > BUDGET_SECONDS * 0.8:
                    report(name, batch, bf16, layout, True, None, None)
                    continue
                seconds, warm = epoch_seconds(name, size, device, batch, bf16, layout, True, steps, warmup,
                                              width, data)
                report(name, batch, bf16, layout, True, seconds, warm)
        del data
    rows += ["", f"Whole run: {time.perf_counter() - started:.0f} s. Networks of the trainers' default width "
                 f"(ngf {width}); the GAN's step is one D and one G step."]
    out = args.out or str(REPO / "benchmarks" / f"bench_gpu_{device.type}.md")
    with atomic_path(out) as tmp:
        Path(tmp).write_text("\n".join(rows) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What every trained generator shares: model files, the training loop, checkpoints and resume,
time budgets and the learning-rate decay, mixed precision, several processes, the loss curve and
the sample grid, and the trainers' command-line flags.

GenVanilla.py and GenGAN.py define the networks and one training step each; this module runs them:

    gen = GenGAN(VideoSkeleton("data/my_target"))
    DanceTrain.train(gen, 20)          # what gen.train(20) does

A trained generator offers what `train` uses (GenVanillaNN has them all):
    name, image_size, device, videoSke, netG      what it is, on which dataset
    filename, checkpoint_file, loss_file, samples_file   its files, <dataset>/models/<name>_<size>...
    make_dataset(indices) -> torch Dataset         the (source, target) training pairs (GenGAN's enhancer:
                                                   and its patches at the high resolution)
    make_optimizers(lr), optimizers()              its optimisers (GenGAN: G's and D's, the enhancer's)
    train_step(*batch) -> {loss: tensor}           one optimisation step on a batch (the dataset's items)
    average_weights()                              after each step: the running average generate() uses
    training_state(), load_training_state(path, state)   what a checkpoint holds
    settings(), save(), set_progress(settings), check_file(path, settings, what)
    generate(ske, box)                             for the sample grid (box: the item's, or None)

The loop (`train`) reads top to bottom as nanoGPT's does: for each epoch, set the learning rate,
run the batches, then write the checkpoint, the model, the loss curve and the sample grid, and
stop early when the time budget would be passed. See docs/DESIGN.md for the file formats.
"""
import argparse
import contextlib
import functools
import importlib
import math
import os
import time

import cv2
import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from DanceUtils import (DATA_DIR, DanceError, atomic_path, check_folder_for, check_number, pick_device, shown,
                        write_image)
from ModelFile import check_settings, power_of_two_levels, read_torch_file
from VideoSkeleton import VideoSkeleton

# The course's switches for both trainers (python GenVanilla.py / python GenGAN.py; flags override them).
DATA = os.path.join(DATA_DIR, "sample_target")   # the target's prepared dataset (python VideoSkeleton.py makes this sample)
EPOCHS = 20                   # epochs in all: a run resumed from its checkpoint trains up to this many
BATCH = 16                    # images per optimisation step
LR = 2e-4                     # Adam's learning rate (pix2pix's)
# Inside the training (rarely changed).
UNTIL_BUDGET = 100_000        # the epochs of a run given only a time budget (--minutes): the budget ends it
LR_DECAY = 0.2                # over the last fifth of a run the learning rate falls linearly towards 0, so
                              # the run ends on a settled network rather than mid-swing (pix2pix decays
                              # over the last half of its 200 epochs); 0: a constant rate
BETAS = (0.5, 0.999)          # Adam's betas (pix2pix's: a short memory of the gradient's mean)
WEIGHT_AVERAGE = 0.999        # generate with an exponential moving average of the trained weights, updated
                              # after every step (as StyleGAN and diffusion models do): the weights swing from
                              # step to step, their average less; 0: the last step's weights. The vanilla
                              # networks' default; GenGAN has its own (GenGAN.GAN_WEIGHT_AVERAGE, 0: it blurs the GAN)
SAMPLE_COUNT = 4              # rows of the sample grid (fixed items spread over the dataset)
SAMPLE_CELL = 128             # smaller images are enlarged to about this size in the sample grid
MAX_WIDTH = 256               # --ngf / --ndf at most: the U-Net's inner layers have 8x as many channels (2048
                              # at 256: some 70 million weights per layer); wider would not fit in memory
MAX_MIDDLE_BLOCKS = 16        # --middle-blocks at most (a model file's too)
MIXED_PRECISION = True        # bf16 autocast where the device computes bf16 natively; False: float32 everywhere
CHANNELS_LAST = True          # on CUDA, images and networks in channels-last memory (faster convolutions)


# ====================================================================== mixed precision and several processes
@functools.cache
def bf16_supported(device_type):
    """Whether the device computes in bfloat16 natively (else bf16 would be emulated, slower than float32)."""
    if device_type == "cuda":
        return torch.cuda.is_bf16_supported()   # Ampere and later; older GPUs train in float32
    if device_type == "cpu" and os.environ.get("DANCE_CPU_BF16", "1") != "0":
        try:   # x86 CPUs with AVX512-BF16 or AMX (oneDNN's kernels); others would emulate bf16, far slower
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def autocast(device, training=True):
    """bf16 mixed precision where the device has it (no loss scaling needed); plain float32 elsewhere.

    Autocast runs convolutions and matrix products in bf16 and keeps the losses in float32.
    On a CPU only for training: batches gain, one frame at a time loses (docs/BENCHMARKS.md). DANCE_CPU_BF16=0 in the environment keeps a CPU in float32.
    """
    if MIXED_PRECISION and bf16_supported(device.type) and (training or device.type != "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_device(tensor, device):
    """Move a batch to the device; images go channels-last on CUDA (faster convolutions)."""
    tensor = tensor.to(device, non_blocking=True)
    if CHANNELS_LAST and device.type == "cuda" and tensor.dim() == 4:
        tensor = tensor.contiguous(memory_format=torch.channels_last)
    return tensor


# Several processes: `torchrun --nproc_per_node=N GenGAN.py ...` starts N copies of the script,
# one per GPU (or N on the CPU), each with the environment variables RANK, LOCAL_RANK and
# WORLD_SIZE. Each process trains on its own share of every epoch (DistributedSampler) and
# DistributedDataParallel averages the gradients of all processes at every step, so the weights
# stay identical everywhere, as with one process and an N times larger batch. Only process 0
# (the "main" one) prints and writes files. Run as plain `python`, nothing of this happens.
def start_distributed(requested_device=None):
    """The device of this process; started by torchrun, it also joins the other processes.

    NCCL links the GPUs (one per process, the one of its LOCAL_RANK); gloo links CPU processes.
    """
    device = pick_device(requested_device)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        # torch.distributed.nn (DistributedDataParallel imports it when built) makes the group
        # that exists when it is imported the default argument of its functions, which then keep
        # the group alive for good: destroy_process_group no longer ends gloo's threads, and a
        # process that exits while they run aborts now and then ("terminate called without an
        # active exception"). Imported before the group exists, it keeps nothing.
        importlib.import_module("torch.distributed.nn")
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def stop_distributed():
    """Leave the group of processes, once every process has reached this point (one leaving while
    another still sends can abort it)."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def is_main_process():
    return not dist.is_initialized() or dist.get_rank() == 0


def for_training(network, device):
    """`network` wrapped in DistributedDataParallel when several processes train; `network` otherwise."""
    if not dist.is_initialized():
        return network
    return DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)


def from_main_process(value, device):
    """The main process's number `value`, the same in every process (each measures its own time)."""
    if not dist.is_initialized():
        return value
    shared = torch.tensor([float(value)], device=device)
    dist.broadcast(shared, src=0)
    return shared.item()


def all_agree(flag, device):
    """The main process's `flag`, the same in every process (they must stop at the same epoch)."""
    return bool(from_main_process(float(flag), device))


def learning_rate_factor(done, decay):
    """The learning rate's multiplier when the fraction `done` of a run is done: 1, then linearly
    towards 0 over the last `decay` of the run."""
    return 1.0 if decay <= 0 else min(1.0, max(0.0, 1.0 - done) / decay)


@torch.no_grad()
def update_average(average, network, steps, decay=WEIGHT_AVERAGE):
    """Move the weights of `average` (a copy of `network`) a step towards `network`'s: an exponential
    moving average. Early on it forgets faster ((1 + steps) / (10 + steps) < decay), so that a short
    run is not held back by the random weights it started from. Buffers are copied as they are."""
    decay = min(decay, (1 + steps) / (10 + steps))
    for mean, weight in zip(average.parameters(), network.parameters()):
        mean.lerp_(weight, 1 - decay)
    for mean, buffer in zip(average.buffers(), network.buffers()):
        mean.copy_(buffer)


def loader_workers(device):
    """Processes preparing batches: none on a CPU (its cores train), a few beside a GPU (which waits for them)."""
    return min(4, max(0, (os.cpu_count() or 1) - 1)) if device.type == "cuda" else 0


# ====================================================================== the training loop
def train(gen, n_epochs=EPOCHS, restart=False, batch_size=BATCH, lr=LR, progress=True, indices=None,
          max_seconds=None, after_epoch=None):
    """Train `gen` until it has n_epochs epochs in all, resuming from its checkpoint unless restart=True.

    n_epochs counts every epoch since the start, the checkpoint's included, so running the same
    command again after an interruption finishes the same run; a larger n_epochs trains more.
    restart=True ignores the checkpoint: the network keeps the weights it has (new ones for a new
    generator, those of the model file for one made with loadFromFile=True).
    indices: train on these items of the dataset only (default: all).
    max_seconds: a budget for the total training time (the checkpoint's included): stop when one
        more epoch, as long as the last one, would pass it (at least one epoch is trained).
    The learning rate is lr, then falls towards 0 over the last LR_DECAY of the n_epochs (or of the
    time budget, when that comes first).
    after_epoch(gen): called after every epoch, once the files are saved.
    Returns the loss history: one dict {loss name: mean over the epoch} per epoch since the start.
    A loss or weight that becomes nan or infinite stops the run with a DanceError, before that
    epoch's files are written: the model and checkpoint of the last good epoch stay as they were.
    """
    check_models_folder(gen)   # before the first epoch, not after it
    dataset = gen.make_dataset(indices)
    # Under torchrun each process takes its own share of the items (batch_size is per process).
    sampler = DistributedSampler(dataset, shuffle=True) if dist.is_initialized() else None
    workers = loader_workers(gen.device)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=sampler is None, sampler=sampler,
                        drop_last=len(dataset) > batch_size, num_workers=workers,
                        persistent_workers=workers > 0, pin_memory=gen.device.type == "cuda")
    main = is_main_process()   # the weights are the same in every process: one writes the files
    gen.netG.train()
    gen.make_optimizers(lr)
    if restart:
        gen.set_progress({})
        history = []
    else:
        history = resume(gen, lr)
    samples = np.linspace(0, len(dataset) - 1, min(SAMPLE_COUNT, len(dataset))).round().astype(int)
    if gen.epochs_done >= n_epochs:   # nothing left: the model file is written again from the checkpoint
        if main:
            gen.save()
            if progress:
                tqdm.write(f"{gen.name}: the checkpoint has {gen.epochs_done} epochs of the {n_epochs} asked: "
                           f"nothing to train (a larger --epochs trains more)")
        return history

    epoch_seconds = 0.0
    for epoch in range(gen.epochs_done + 1, n_epochs + 1):
        # 1. The learning rate, by how much of the run will be done half way through this epoch (the
        #    main process's figure: each process measures its own time).
        done = (epoch - 0.5) / n_epochs
        if max_seconds is not None:
            done = max(done, (gen.train_seconds + epoch_seconds / 2) / max(max_seconds, 1e-9))
        factor = from_main_process(learning_rate_factor(done, LR_DECAY), gen.device)
        for optimizer in gen.optimizers():
            for group in optimizer.param_groups:
                group["lr"] = lr * factor

        # 2. One pass over the data.
        if sampler is not None:
            sampler.set_epoch(epoch)   # a new shuffle each epoch, the same in every process
        started = time.perf_counter()
        totals, batches = {}, 0
        bar = tqdm(loader, desc=f"{gen.name} {epoch}/{n_epochs}", unit="batch", disable=not (progress and main),
                   leave=False)
        for batch in bar:   # (source, target), and GenGAN's enhancer's patches where it has one
            losses = gen.train_step(*(to_device(tensor, gen.device) for tensor in batch))
            gen.average_weights()
            for name, value in losses.items():
                totals[name] = totals.get(name, 0.0) + value.detach()
            batches += 1
            if batches % 10 == 1 or batches == len(loader):   # reading a GPU value waits for it: not every batch
                bar.set_postfix({k: f"{float(v) / batches:.4f}" for k, v in totals.items()})
        bar.close()
        history.append({name: float(total) / max(batches, 1) for name, total in totals.items()})
        # A rate too high for these data makes the weights blow up: nothing of this epoch is saved
        # (every process stops at the same epoch: their weights are the same, their losses not quite).
        if all_agree(not finite_training(gen, history[-1]), gen.device):
            raise DanceError(diverged_message(gen, history[-1], epoch, lr))
        epoch_seconds = time.perf_counter() - started
        gen.epochs_done, gen.train_seconds = epoch, gen.train_seconds + epoch_seconds
        if progress and main:
            shown_losses = "  ".join(f"{k} {v:.4f}" for k, v in history[-1].items())
            tqdm.write(f"{gen.name} epoch {epoch}/{n_epochs}: {shown_losses}  ({epoch_seconds:.1f} s)")

        # 3. The files of this epoch: an interruption from now on keeps it.
        if main:
            save_checkpoint(gen, history)
            gen.save()
            save_loss_curve(gen.loss_file, history, f"{gen.name} {gen.image_size} px")
            write_image(gen.samples_file, sample_grid(gen, dataset, samples))
            if after_epoch:
                after_epoch(gen)
                gen.netG.train()   # after_epoch may have generated images (eval mode)

        # 4. Stop before an epoch that would pass the time budget (every process at the same epoch).
        out_of_time = max_seconds is not None and gen.train_seconds + epoch_seconds > max_seconds
        if all_agree(out_of_time, gen.device):
            break
    return history


def check_models_folder(gen):
    """Before training: the folder of gen's model files exists or can be made, and is writable (a file or
    a link to nothing in the way of <dataset>/models is said now, not after the first epoch)."""
    try:
        check_folder_for(gen.filename, create=True)
    except DanceError as err:
        raise DanceError(f"{err}: the trained model goes there; move it away (nothing was trained)") from None


def finite_training(gen, losses):
    """True when the epoch's mean losses and the generator's weights are all finite numbers."""
    if not all(math.isfinite(value) for value in losses.values()):
        return False
    networks = [gen.netG, gen.generating_network()]
    return all(bool(torch.isfinite(p).all()) for network in networks for p in network.parameters())


def diverged_message(gen, losses, epoch, lr):
    """The error of a run whose loss or weights became nan or infinite at `epoch`."""
    bad = [f"{name} {value}" for name, value in losses.items() if not math.isfinite(value)]
    what = f"the loss became {', '.join(bad)}" if bad else "the weights became nan or infinite"
    kept = f"{shown(gen.filename)} is left as it was" if os.path.isfile(gen.filename) else "no model was written"
    return (f"{gen.name}: {what} at epoch {epoch}, so it was not saved ({kept}); "
            f"train again with a lower --lr than {lr:g}")


def save_checkpoint(gen, history):
    """The checkpoint a later run resumes from: settings, loss history, weights and optimiser states."""
    state = {"settings": gen.settings(), "history": history, "state": gen.training_state()}
    with atomic_path(gen.checkpoint_file) as tmp:
        torch.save(state, tmp)


def resume(gen, lr):
    """The loss history of gen's checkpoint, whose weights and optimiser states are loaded; [] when none."""
    path = gen.checkpoint_file
    if not os.path.isfile(path):
        return []
    restart = "use --restart (train(..., restart=True)) to start again"
    data = read_torch_file(path, "checkpoint", remedy=f"; {restart}")
    settings = data["settings"]
    try:
        check_settings(path, settings, gen.name, gen.image_size, "checkpoint")
        gen.check_file(path, settings, "checkpoint")   # trained on this dataset
        different = [f"{k} {settings.get(k)} there, {v} here" for k, v in gen.network_settings.items()
                     if settings.get(k) != v]
        if different:
            raise DanceError(f"{path}: a checkpoint of another network ({'; '.join(different)})")
        gen.load_training_state(path, data["state"])
    except DanceError as err:
        raise DanceError(f"{err}; {restart}") from None
    except (KeyError, ValueError, RuntimeError, TypeError) as err:
        raise DanceError(f"{path}: not a usable checkpoint ({type(err).__name__}); {restart}") from None
    for optimizer in gen.optimizers():
        for group in optimizer.param_groups:
            group["lr"] = lr
    gen.set_progress(settings)
    return list(data["history"])


# ====================================================================== what training shows
def save_loss_curve(path, history, title):
    """One panel per loss of `history` (a list of dicts, one per epoch), as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure   # no pyplot: no global state, no window
    from matplotlib.ticker import MaxNLocator

    names = list(dict.fromkeys(k for entry in history for k in entry))
    figure = Figure(figsize=(6, 1.2 + 1.8 * len(names)))
    FigureCanvasAgg(figure)
    epochs = np.arange(1, len(history) + 1)
    for row, name in enumerate(names, 1):
        axes = figure.add_subplot(len(names), 1, row)
        axes.plot(epochs, [entry.get(name, np.nan) for entry in history], marker="." if len(history) < 50 else None)
        axes.set_ylabel(name)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
    axes.set_xlabel("epoch")
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=80)

def sample_grid(gen, dataset, items):
    """One row per item: stick figure | generated | real (BGR uint8), without augmentation."""
    rows, was_training = [], gen.netG.training
    for i in items:
        ske, real = dataset.pair(i, augment=False)
        figure = ske.draw_reduced(np.zeros((gen.image_size, gen.image_size, 3), np.uint8))
        generated = gen.generate(ske, box=dataset.box(i))   # over the plate: the item's own place in it
        rows.append(np.hstack([figure, generated, cv2.cvtColor(real, cv2.COLOR_RGB2BGR)]))
    gen.netG.train(was_training)
    zoom = max(1, SAMPLE_CELL // gen.image_size)   # small images are enlarged to be seen
    return cv2.resize(np.vstack(rows), None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)


# ====================================================================== the trainers' command line
def add_training_arguments(parser, ngf, augment, middle_blocks, attention):
    """The flags GenVanilla.py and GenGAN.py share (ngf, augment...: the generator's defaults)."""
    parser.add_argument("--data", default=DATA,
                        help="the target's prepared dataset directory, or a video to prepare first "
                             "(default: the project's sample, data/sample_target)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="train for this many minutes in all, those of the checkpoint included: running the "
                             "same command again after an interruption finishes the run (with --epochs: whichever "
                             "comes first)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs in all, those of the checkpoint included: running the same command again "
                             f"after an interruption finishes the run; a larger number trains more (default: "
                             f"{EPOCHS}, or as many as --minutes allows)")
    parser.add_argument("--size", type=int, default=None,
                        help="side of the generated images, a power of two such as 64 or 128 "
                             "(default: the size of the dataset's crops)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps... (default: cuda, then mps, then cpu)")
    parser.add_argument("--restart", action="store_true", help="ignore the checkpoint and train from scratch")
    parser.add_argument("--batch", type=int, default=BATCH, help="images per optimisation step (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=LR, help="Adam's learning rate (default: %(default)s)")
    parser.add_argument("--ngf", type=int, default=ngf, help="width of the generator (default: %(default)s)")
    parser.add_argument("--middle-blocks", type=int, default=middle_blocks,
                        help="residual blocks at the U-Net's 8x8 middle (default: %(default)s)")
    parser.add_argument("--attention", action=argparse.BooleanOptionalAction, default=attention,
                        help="self-attention at the U-Net's 8x8 middle (default: %(default)s)")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=augment,
                        help="random joint shift/scale of image and skeleton while training, for a moving "
                             "camera (default: %(default)s)")


def open_dataset(data, default=DATA):
    """VideoSkeleton(data), with the way to make the default sample when it is missing."""
    if data == default and not os.path.exists(data):
        raise DanceError(f"{data}: no such dataset; make the project's sample with `python VideoSkeleton.py` "
                         f"(it prepares data/sample/sample_target.mp4 into {default}), or pass --data DIR")
    return VideoSkeleton(data)


def check_width(flag, width):
    """A DanceError unless `width` (--ngf, --ndf) is a whole number from 1 to MAX_WIDTH."""
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH:
        raise DanceError(f"{flag} {width}: must be a whole number from 1 to {MAX_WIDTH}")


def check_training_arguments(args):
    """The shared flags, before the dataset is loaded (a video given as --data would be prepared first)."""
    for flag in ("epochs", "batch"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise DanceError(f"--{flag} {getattr(args, flag)}: must be at least 1")
    if args.minutes is not None:
        check_number("--minutes", args.minutes)
    check_width("--ngf", args.ngf)
    if not 0 <= args.middle_blocks <= MAX_MIDDLE_BLOCKS:
        raise DanceError(f"--middle-blocks {args.middle_blocks}: must be from 0 to {MAX_MIDDLE_BLOCKS}")
    check_number("--lr", args.lr)
    if args.size is not None:
        power_of_two_levels(args.size)
    pick_device(args.device)   # "meta", or cuda on a machine without one: said now, not after the preparation


def train_from_command_line(gen, args, what=None):
    """Train `gen` as the shared flags say, and report where its files are (in one process under torchrun)."""
    try:
        main = is_main_process()
        if main:
            processes = f" x {dist.get_world_size()} processes" if dist.is_initialized() else ""
            sharp = f" (the person also at {gen.sharp_size} px)" if getattr(gen, "sharp_size", 0) else ""
            print(f"training {what or gen.name} at {gen.image_size} px{sharp} on {gen.device}{processes}, "
                  f"{len(gen.videoSke)} images")
        epochs = args.epochs or (UNTIL_BUDGET if args.minutes else EPOCHS)
        seconds = None if args.minutes is None else 60 * args.minutes
        history = gen.train(epochs, restart=args.restart, batch_size=args.batch, lr=args.lr, max_seconds=seconds)
        if main:
            last = ", ".join(f"{k} {v:.4f}" for k, v in history[-1].items()) if history else "-"
            print(f"{gen.name}: {gen.epochs_done} epochs, last loss {last}; model {shown(gen.filename)}, "
                  f"curve {shown(gen.loss_file)}, samples {shown(gen.samples_file)}")
    finally:
        stop_distributed()



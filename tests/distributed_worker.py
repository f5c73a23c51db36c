"""Run by tests/test_distributed.py under torchrun: train a few steps, then save this process's weights.

    torchrun --nproc_per_node=2 tests/distributed_worker.py DATASET OUT_DIR KIND [GAN_LOSS]

KIND: vanilla_ske | vanilla_image | gan. Each process writes OUT_DIR/rank<R>_of_<N>.pt holding
its generator's (and discriminator's) state_dict after training, and start<R>_of_<N>.pt
before, so the test can compare the processes. The project's modules are found on PYTHONPATH,
which the test's torchrun fixture sets to the repository root.
"""
import os
import sys

import numpy as np
import torch
import torch.distributed as dist

from DanceTrain import start_distributed, stop_distributed
from GenGAN import GenGAN
from GenVanilla import GenVanillaNN
from VideoSkeleton import VideoSkeleton


def main(data, out, kind, gan_loss="lsgan"):
    device = start_distributed("cpu")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(rank)   # a different start in each process: DDP must make them the same
    np.random.seed(rank)
    vs = VideoSkeleton(data)
    settings = dict(image_size=32, device=device, ngf=8, model_dir=os.path.join(out, "models"))
    if kind == "gan":
        gen = GenGAN(vs, gan_loss=gan_loss, ndf=8, **settings)
    else:
        gen = GenVanillaNN(vs, optSkeOrImage=1 if kind == "vanilla_ske" else 2, **settings)
    torch.save(weights(gen), os.path.join(out, f"start{rank}_of_{world}.pt"))
    gen.train(2, restart=True, batch_size=2, progress=False)
    torch.save(weights(gen), os.path.join(out, f"rank{rank}_of_{world}.pt"))
    stop_distributed()


def weights(gen):
    """The generator's (and discriminator's) state_dict, copied."""
    state = {f"netG.{k}": v.clone() for k, v in gen.netG.state_dict().items()}
    if hasattr(gen, "netD"):
        state.update({f"netD.{k}": v.clone() for k, v in gen.netD.state_dict().items()})
    return state


def gloo_threads():
    """The names of this process's threads that belong to gloo (Linux; [] elsewhere)."""
    tasks = "/proc/self/task"
    if not os.path.isdir(tasks):
        return []
    names = []
    for task in os.listdir(tasks):
        try:
            with open(os.path.join(tasks, task, "comm")) as f:
                names.append(f.read().strip())
        except OSError:   # the thread ended meanwhile
            pass
    return [name for name in names if "gloo" in name]


if __name__ == "__main__":
    main(*sys.argv[1:])
    # Nothing refers to the process group any more (the generator and its DDP wrappers are gone),
    # so gloo's threads must have ended: threads left running can abort the process as it exits.
    left = gloo_threads()
    if left:
        sys.exit(f"gloo threads still running after the process group was destroyed: {left}")

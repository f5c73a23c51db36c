"""Training on several processes: `torchrun --nproc_per_node=2` on the CPU (gloo).

DistributedDataParallel must keep the processes' weights identical although each process
starts from other random weights and trains on other images (the worker seeds each process
differently; DDP copies process 0's weights at the start and averages the gradients).
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("distributed_worker.py")   # a script torchrun starts, not a test module


@pytest.fixture
def torchrun(dance_data):
    """torchrun(*args) -> (returncode, output) of `torchrun --standalone --nproc_per_node=2 ARGS...`
    from the repository root; the processes import the project's modules from there (PYTHONPATH)."""
    repo = Path(__file__).resolve().parents[1]

    def run(*args, timeout=300):
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                   *map(str, args)]
        path = os.pathsep.join(p for p in (str(repo), os.environ.get("PYTHONPATH", "")) if p)
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", PYTHONPATH=path)
        proc = subprocess.run(command, cwd=repo, env=env, capture_output=True, timeout=timeout)
        return proc.returncode, proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    return run


@pytest.fixture
def small_data(make_small_dataset, tmp_path):
    """8 crops of the synthetic sample's target, as a dataset of their own in tmp_path."""
    return Path(make_small_dataset(tmp_path / "small8").directory)


@pytest.mark.parametrize("kind, gan_loss", [("vanilla_ske", ""), ("gan", "lsgan"), ("gan", "wgan-gp")])
def test_two_processes_end_with_identical_weights(small_data, tmp_path, kind, gan_loss, torchrun):
    out = tmp_path / "out"
    out.mkdir()
    code, output = torchrun(WORKER, small_data, out, kind, *([gan_loss] if gan_loss else []))
    assert code == 0, output[-3000:]
    start0, start1, rank0, rank1 = (torch.load(out / f"{what}{r}_of_2.pt", weights_only=True)
                                    for what in ("start", "rank") for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    weights = [n for n in rank0 if rank0[n].is_floating_point() and "running_" not in n]  # BatchNorm's
    assert any(not torch.equal(start0[n], start1[n]) for n in weights)   # running statistics are local
    for name in weights:
        torch.testing.assert_close(rank0[name], rank1[name], rtol=0, atol=1e-6, msg=name)
    assert any(not torch.allclose(start0[n], rank0[n]) for n in weights)   # they did train
    # only process 0 wrote files, once per kind
    assert sorted(os.listdir(out / "models")) == sorted(
        f"{kind}_32{suffix}" for suffix in (".pt", ".ckpt.pt", "_loss.png", "_samples.png"))


def test_gan_command_line_runs_unchanged_under_torchrun(small_data, torchrun):
    code, output = torchrun("GenGAN.py", "--data", small_data, "--epochs", 1, "--size", 32, "--batch", 2,
                            "--ngf", 8, "--ndf", 8, "--device", "cpu")
    assert code == 0, output[-3000:]
    assert output.count("x 2 processes") == 1           # process 0 alone speaks
    assert output.count("gan: 1 epochs") == 1
    model = torch.load(small_data / "models" / "gan_32.pt", weights_only=True)
    assert model["settings"]["epochs"] == 1 and model["settings"]["kind"] == "gan"

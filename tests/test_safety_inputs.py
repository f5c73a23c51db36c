"""Inputs the scripts must refuse in one line, found by a probe of the last release: an output inside an
input dataset, numbers that are not finite, a training run whose loss blows up, a source dataset with
a missing crop, a models/ folder that cannot receive the model, a model file whose settings describe
no network, and a --device the project does not run on.

Every case runs the real command line on real files and compares the sha256 of every file the user
had before and after (tests/test_safety.py's `snapshot`): nothing of the user's changes. The data:
tests/test_safety.py's module fixtures (the synthetic sample, 2 s at 25 fps, prepared once at 64 px,
25 crops), and one vanilla_ske model trained once for 1 epoch with --batch 8 --ngf 8.
"""

import numpy as np
import pytest

from safety_helpers import SMALL_NET, copy_dataset, snapshot, snapshots

QUICK = 60   # seconds: every refusal here comes before any work (a late one would train, or detect poses)


@pytest.fixture(scope="module")
def trained(prepared, tmp_path_factory, run_cli):
    """A copy of the dataset with vanilla_ske trained for 1 epoch (read-only: tests copy it)."""
    data = copy_dataset(prepared["dir"], tmp_path_factory.mktemp("inputs_trained") / "target64")
    code, out, err = run_cli("GenVanilla.py", "--data", data, "--opt", 1, "--epochs", 1, *SMALL_NET)
    assert code == 0, err
    return data


def first_image(data):
    with np.load(data / "landmarks.npz", allow_pickle=False) as stored:
        return str(stored["image"][0])


# ====================================================================== 1. no output inside an input dataset
def inside_case(case, data, sample):
    """(script and arguments, the output path) of an output placed inside the dataset `data`."""
    if case == "nearest_plate":
        out = data / "background.png"
        return ("GenNearest.py", "--data", data, "--out", out), out
    if case == "nearest_crop":
        out = data / "images" / first_image(data)
        return ("GenNearest.py", "--data", data, "--out", out), out
    if case == "nearest_through_a_link":   # links resolved: the link's folder is the dataset
        link = data.parent / "link_to_data"
        link.symlink_to(data)
        out = link / "background.png"
        return ("GenNearest.py", "--data", data, "--out", out), out
    if case == "nearest_source_dataset":
        source = copy_dataset(data, data.parent / "source64")
        out = source / "grid.png"
        return ("GenNearest.py", "--data", data, "--source", source, "--out", out), out
    if case == "demo_target":
        out = data / "demo.mp4"
        return ("DanceDemo.py", "--source", sample["source"], "--data", data, "--out", out), out
    if case == "demo_source_dataset":
        source = copy_dataset(data, data.parent / "source64")
        out = source / "images" / "demo.mp4"
        return ("DanceDemo.py", "--source", source, "--data", data, "--output", out), out
    if case == "eval_folder":
        out = data / "eval"
        return ("DanceEval.py", "--data", data, "--gens", "nearest", "--quick", "--out", out), out
    raise ValueError(case)


@pytest.mark.parametrize("case", ["nearest_plate", "nearest_crop", "nearest_through_a_link", "nearest_source_dataset",
                                  "demo_target", "demo_source_dataset", "eval_folder"])
def test_output_inside_an_input_dataset(case, sample, prepared, tmp_path, run_cli, one_error):
    data = copy_dataset(prepared["dir"], tmp_path / "target64")
    args, out = inside_case(case, data, sample)
    before = snapshots(tmp_path, sample["folder"])
    code, stdout, err = run_cli(*args, timeout=QUICK)
    one_error(code, err, str(out), "lies inside the input dataset", "nothing was written")
    assert snapshots(tmp_path, sample["folder"]) == before


# ====================================================================== 2. numbers that are not finite
@pytest.mark.parametrize("script, flag, value", [
    ("DanceEval.py", "--minutes", "nan"), ("DanceEval.py", "--minutes", "inf"), ("DanceEval.py", "--minutes", "0"),
    ("DanceEval.py", "--minutes", "-1"),
    ("GenVanilla.py", "--lr", "inf"), ("GenVanilla.py", "--lr", "nan"), ("GenGAN.py", "--lr", "inf"),
    ("GenGAN.py", "--lambda-l1", "inf"), ("GenGAN.py", "--lambda-fm", "nan"),
    ("GenGAN.py", "--lambda-l1-background", "-inf"),
])
def test_numbers_that_are_not_finite(script, flag, value, prepared, tmp_path, run_cli, one_error):
    data = copy_dataset(prepared["dir"], tmp_path / "target64")
    if script == "DanceEval.py":
        args = ("--data", data, "--gens", "vanilla_ske", "--out", tmp_path / "eval")
    else:
        args = ("--data", data, "--epochs", 1, *SMALL_NET)
    before = snapshot(tmp_path)
    code, stdout, err = run_cli(script, *args, f"{flag}={value}", timeout=QUICK)   # -inf is no flag
    one_error(code, err, flag, "must be a finite number")
    assert snapshot(tmp_path) == before


def test_a_loss_that_blows_up_keeps_the_last_good_model(trained, tmp_path, run_cli, one_error):
    """A rate of 1e30 (finite, so accepted) turns the loss into nan within the epoch: the run stops
    with one line, and writes nothing of that epoch (model, checkpoint, curve, samples)."""
    data = copy_dataset(trained, tmp_path / "target64")
    before = snapshot(tmp_path)
    code, stdout, err = run_cli("GenVanilla.py", "--data", data, "--opt", 1, "--epochs", 2, *SMALL_NET,
                                "--lr", "1e30")
    one_error(code, err, "vanilla_ske", "at epoch 2", "vanilla_ske_64.pt is left as it was", "lower --lr")
    assert snapshot(tmp_path) == before


# ====================================================================== 3. a source dataset with a missing crop
def test_source_dataset_with_a_missing_image(sample, prepared, tmp_path, run_cli, one_error):
    """The demo used to end at the missing frame with exit 0 (a video cut short, said nowhere)."""
    source = copy_dataset(prepared["dir"], tmp_path / "source64")
    with np.load(source / "landmarks.npz", allow_pickle=False) as stored:
        missing = str(stored["image"][len(stored["image"]) // 2])
    (source / "images" / missing).unlink()
    out = tmp_path / "demo.mp4"
    before = snapshots(tmp_path, prepared["dir"], sample["folder"])
    code, stdout, err = run_cli("DanceDemo.py", "--source", source, "--data", prepared["dir"], "--out", out,
                                timeout=QUICK)
    one_error(code, err, str(source / "images" / missing), "prepare it again", "--force")
    assert not out.exists()
    assert snapshots(tmp_path, prepared["dir"], sample["folder"]) == before


# ====================================================================== 4. models/ that cannot receive the model
# As root, chmod 0o555 stops no write (and os.access says yes), so the cases are those that stop
# root too: a file where the folder should be, and a link to nothing (os.makedirs fails on both).
@pytest.mark.parametrize("script, blocker", [("GenVanilla.py", "file"), ("GenGAN.py", "link"),
                                             ("DanceEval.py", "file")])
def test_models_folder_that_cannot_be_written(script, blocker, prepared, tmp_path, run_cli, one_error):
    data = copy_dataset(prepared["dir"], tmp_path / "target64")
    # The trainers write into <dataset>/models; DanceEval into <out>/models (never the dataset's).
    holder = tmp_path / "eval" if script == "DanceEval.py" else data
    holder.mkdir(exist_ok=True)
    models = holder / "models"
    if blocker == "file":
        models.write_text("the user's notes, named models\n")
    else:
        models.symlink_to(tmp_path / "nowhere")
    if script == "DanceEval.py":
        args = ("--data", data, "--gens", "vanilla_ske", "--quick", "--out", holder)
    else:
        args = ("--data", data, "--epochs", 1, *SMALL_NET)
    before = snapshot(tmp_path)
    code, stdout, err = run_cli(script, *args, timeout=QUICK)
    line = one_error(code, err, str(models))
    assert "is a file, not a folder" in line or "is a link to nothing" in line, line
    assert "epoch" not in stdout, "refused before the first epoch"
    assert snapshot(tmp_path) == before


# ====================================================================== 5. a model file whose settings describe no network
@pytest.mark.parametrize("key, value", [("ngf", -1), ("ngf", 0), ("ngf", "8"), ("ngf", 10 ** 6), ("opt", 3),
                                        ("dropout", float("nan")), ("upsample", "bogus")])
def test_model_settings_that_describe_no_network(key, value, sample, trained, tmp_path, run_cli, one_error):
    import torch
    data = copy_dataset(trained, tmp_path / "target64")
    model = data / "models" / "vanilla_ske_64.pt"
    stored = torch.load(model, map_location="cpu", weights_only=True)
    stored["settings"][key] = value
    torch.save(stored, model)
    out = tmp_path / "demo.mp4"
    before = snapshots(tmp_path, sample["folder"])
    code, stdout, err = run_cli("DanceDemo.py", "--source", sample["source"], "--data", data, "--gen", "vanilla_ske",
                                "--out", out, timeout=QUICK)
    one_error(code, err, str(model), "settings that describe no network", f"{key} ", "train it again with",
              "GenVanilla.py")
    assert not out.exists()
    assert snapshots(tmp_path, sample["folder"]) == before


# ====================================================================== 6. --device the project does not run on
@pytest.mark.parametrize("script, device", [("GenVanilla.py", "meta"), ("GenGAN.py", "xla"), ("DanceEval.py", "meta"),
                                            ("DanceEval.py", "xla")])
def test_device_the_project_does_not_run_on(script, device, prepared, tmp_path, run_cli, one_error):
    data = copy_dataset(prepared["dir"], tmp_path / "target64")
    if script == "DanceEval.py":
        args = ("--data", data, "--gens", "vanilla_ske", "--quick", "--out", tmp_path / "eval")
    else:
        args = ("--data", data, "--epochs", 1, *SMALL_NET)
    before = snapshot(tmp_path)
    code, stdout, err = run_cli(script, *args, "--device", device, timeout=QUICK)
    one_error(code, err, f"--device {device}", "choose cpu, cuda")
    assert snapshot(tmp_path) == before

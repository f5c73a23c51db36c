"""Safety rules of every command: a user's files are never replaced, outputs are checked before the
work and are never an input, model files know their dataset, sizes follow the dataset, --epochs
counts in all, damaged files give one clear line, and the console stays quiet.

Everything runs on a small synthetic sample (DanceSample: 2 s at 25 fps, 240 x 240), prepared
once per module with --mod-frame 2 --size 64 (25 crops); the networks train with --batch 8,
--ngf 8, --ndf 8 for 1 epoch. Tests that change a dataset work on a copy of it.
"""
import json
import os
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from safety_helpers import SMALL_NET, copy_dataset, snapshot, snapshots


# What MediaPipe / TensorFlow Lite / absl print by themselves; none of it may reach the console.
NOISE = ("INFO: Created TensorFlow Lite", "All log messages before absl", "W0000", "I0000",
         "inference_feedback_manager", "landmark_projection_calculator")
FAST_SECONDS = 20      # "before any work": the command gives up long before it could have done any


# ---------------------------------------------------------------------- helpers
def timed(run_cli, script, *args):
    start = time.perf_counter()
    code, out, err = run_cli(script, *args)
    return code, out, err, time.perf_counter() - start


def model_settings(path):
    import torch
    return torch.load(path, map_location="cpu", weights_only=True)["settings"]




def assert_quiet(*texts):
    for text in texts:
        for marker in NOISE:
            assert marker not in text, f"{marker!r} reached the console:\n{text}"


# ---------------------------------------------------------------------- shared data (once per module)
@pytest.fixture(scope="module")
def vanilla_trained(prepared, tmp_path_factory, run_cli):
    """A copy of the dataset with vanilla_ske (option 1) trained for 1 epoch."""
    data = copy_dataset(prepared["dir"], tmp_path_factory.mktemp("safety_vanilla") / "target64")
    code, out, err = run_cli("GenVanilla.py", "--data", data, "--opt", 1, "--epochs", 1, *SMALL_NET)
    assert code == 0, err
    return {"dir": data, "stdout": out}


@pytest.fixture(scope="module")
def gan_trained(prepared, tmp_path_factory, run_cli):
    """A copy of the dataset with the GAN trained for 1 epoch (no --size: the dataset's 64 px)."""
    data = copy_dataset(prepared["dir"], tmp_path_factory.mktemp("safety_gan") / "target64")
    code, out, err = run_cli("GenGAN.py", "--data", data, "--epochs", 1, *SMALL_NET, "--ndf", 8)
    assert code == 0, err
    return {"dir": data, "stdout": out}


@pytest.fixture(scope="module")
def demo_run(sample, prepared, tmp_path_factory, run_cli):
    """DanceDemo (nearest) into a file, from a private copy of the source video (so its skeletons
    are detected by this run, not read from another test's cache)."""
    folder = tmp_path_factory.mktemp("safety_demo")
    source = folder / "demo_source.mp4"
    shutil.copy(sample["source"], source)
    out = folder / "a.mp4"
    code, stdout, stderr = run_cli("DanceDemo.py", "--source", source, "--data", prepared["dir"], "--out", out)
    assert code == 0, stderr
    return {"source": source, "out": out, "stdout": stdout, "stderr": stderr, "folder": folder}


@pytest.fixture(scope="module")
def eval_run(prepared, tmp_path_factory, run_cli):
    """DanceEval --quick with the nearest generator only."""
    out = tmp_path_factory.mktemp("safety_eval") / "report"
    before = snapshot(prepared["dir"])
    code, stdout, stderr = run_cli("DanceEval.py", "--data", prepared["dir"], "--quick", "--gens", "nearest",
                                      "--out", out)
    return {"code": code, "out": out, "stdout": stdout, "stderr": stderr,
            "dataset_unchanged": snapshot(prepared["dir"]) == before}


# ====================================================================== 1. VideoSkeleton.py --out
def test_prepare_refuses_a_folder_of_the_users(sample, tmp_path, prepare_cli, one_error):
    folder = tmp_path / "my_stuff"
    (folder / "holidays").mkdir(parents=True)
    (folder / "letter.txt").write_text("dear user, this is yours\n")
    (folder / "holidays" / "photo.jpg").write_bytes(b"\xff\xd8 not really a photo")
    before = snapshots(folder, sample["folder"])
    code, out, err = prepare_cli(sample["target"], folder)
    one_error(code, err, str(folder), "not a prepared dataset", "nothing was changed")
    assert snapshots(folder, sample["folder"]) == before
    assert [p for p in os.listdir(tmp_path) if ".partial-" in p or ".old-" in p] == []


def test_prepare_refuses_the_folder_that_holds_the_input(sample, tmp_path, prepare_cli, one_error):
    """As `--out data` with the video inside data/: the folder holds the input and other things."""
    data = tmp_path / "data"
    data.mkdir()
    video = data / "dance.mp4"
    shutil.copy(sample["target"], video)
    (data / "todo.txt").write_text("film the next dance\n")
    (data / "older").mkdir()
    before = snapshot(data)
    code, out, err = prepare_cli(video, data)
    line = one_error(code, err, str(data))
    assert "holds the input" in line or "not a prepared dataset" in line, line
    assert snapshot(data) == before


def test_prepare_refuses_a_file_as_out(sample, tmp_path, prepare_cli, one_error):
    target = tmp_path / "report.txt"
    target.write_text("my report\n")
    before = snapshots(tmp_path)
    code, out, err = prepare_cli(sample["target"], target)
    one_error(code, err, str(target), "is a file, not a folder")
    assert snapshots(tmp_path) == before


def test_prepare_refuses_a_path_under_a_file(sample, tmp_path, prepare_cli, one_error):
    somefile = tmp_path / "somefile.txt"
    somefile.write_text("a file, not a folder\n")
    before = snapshots(tmp_path)
    code, out, err = prepare_cli(sample["target"], somefile / "sub")
    one_error(code, err, "is a file, not a folder")
    assert snapshots(tmp_path) == before


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["same-settings", "force"])
def test_prepare_refuses_a_dataset_holding_a_file_of_the_users(force, sample, prepared, tmp_path, prepare_cli,
                                                               one_error):
    data = copy_dataset(prepared["dir"], tmp_path / "target64")
    (data / "notes.txt").write_text("my notes about this dance\n")
    before = snapshot(tmp_path)
    code, out, err = prepare_cli(sample["target"], data, *force)
    one_error(code, err, "notes.txt", "nothing was changed")
    assert snapshot(tmp_path) == before


def test_prepare_size_out_of_range(sample, tmp_path, run_cli, one_error):
    out_dir = tmp_path / "new_dataset"
    code, out, err = run_cli("VideoSkeleton.py", sample["target"], "--size", 100000, "--out", out_dir)
    one_error(code, err, "--size 100000", "between 16 and")
    assert os.listdir(tmp_path) == []


def test_force_prepares_our_dataset_again_and_keeps_its_models(sample, prepared, tmp_path, prepare_cli):
    from VideoSkeleton import VideoSkeleton
    data = copy_dataset(prepared["dir"], tmp_path / "target64")
    (data / "models").mkdir()
    (data / "models" / "x.pt").write_bytes(b"a trained model of the user's")
    code, out, err = prepare_cli(sample["target"], data, "--force")
    assert code == 0, err
    assert "already prepared" not in out
    assert (data / "models" / "x.pt").read_bytes() == b"a trained model of the user's"
    assert sorted(os.listdir(data)) == ["background.png", "images", "images_high", "landmarks.npz", "masks",
                                       "masks_high", "models", "plate_confidence.png"]
    assert os.stat(data / "landmarks.npz").st_mtime_ns != os.stat(prepared["dir"] / "landmarks.npz").st_mtime_ns
    assert VideoSkeleton(str(data)).skeCount() == 25
    assert sorted(os.listdir(tmp_path)) == ["target64"], "no .partial-/.old- leftovers"


def test_prepare_into_an_empty_folder(sample, tmp_path, prepare_cli):
    from VideoSkeleton import VideoSkeleton
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = prepare_cli(sample["target"], empty)
    assert code == 0, err
    vs = VideoSkeleton(str(empty))
    assert vs.skeCount() == 25 and vs.image_size == 64
    assert sorted(os.listdir(tmp_path)) == ["empty"]


@pytest.mark.parametrize("command", ["GenVanilla", "DanceDemo"])
def test_landmarks_whose_settings_are_not_json(command, sample, prepared, tmp_path, run_cli, one_error):
    data = copy_dataset(prepared["dir"], tmp_path / "target64")
    npz = data / "landmarks.npz"
    with np.load(npz, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    assert "settings" in arrays
    arrays["settings"] = np.array("not json {")
    np.savez(npz, **arrays)
    before = snapshot(tmp_path)
    if command == "GenVanilla":
        code, out, err = run_cli("GenVanilla.py", "--data", data, "--epochs", 1, *SMALL_NET)
    else:
        code, out, err = run_cli("DanceDemo.py", "--source", sample["source"], "--data", data,
                                 "--out", tmp_path / "x.mp4")
    one_error(code, err, "landmarks.npz", "'settings' is not a JSON object")
    assert snapshot(tmp_path) == before


@pytest.fixture(scope="module")
def missing_image_run(prepared, tmp_path_factory, run_cli):
    """GenGAN.py on a copy of the dataset whose first listed image was deleted."""
    root = tmp_path_factory.mktemp("safety_missing_image")
    data = copy_dataset(prepared["dir"], root / "target64")
    with np.load(data / "landmarks.npz", allow_pickle=False) as stored:
        first = str(stored["image"][0])
    (data / "images" / first).unlink()
    before = snapshot(root)
    code, out, err = run_cli("GenGAN.py", "--data", data, "--epochs", 1, *SMALL_NET, "--ndf", 8)
    return {"code": code, "stderr": err, "first": first, "data": data, "unchanged": snapshot(root) == before}


def test_missing_dataset_image(missing_image_run, stderr_lines):
    """The error names the missing image and the command that prepares the dataset again."""
    run = missing_image_run
    assert run["code"] == 2
    assert "Traceback" not in run["stderr"], run["stderr"]
    errors = [line for line in stderr_lines(run["stderr"]) if line.startswith("error: ")]
    assert len(errors) == 1, stderr_lines(run["stderr"])
    assert run["first"] in errors[0] and "--force" in errors[0], errors[0]
    assert run["unchanged"]
    assert not (run["data"] / "models").exists()


def test_missing_dataset_image_gives_one_line_only(missing_image_run, one_error):
    one_error(missing_image_run["code"], missing_image_run["stderr"], missing_image_run["first"], "--force")


# ====================================================================== 2. an output that is an input
@pytest.mark.parametrize("flag", ["--out", "--output"])
@pytest.mark.parametrize("spelling", ["same", "symlink", "dotdot_existing", "dotdot_missing"])
def test_demo_output_that_is_the_source_video(spelling, flag, sample, prepared, tmp_path, run_cli, one_error):
    source = tmp_path / "X.mp4"
    shutil.copy(sample["source"], source)
    if spelling == "same":
        out = source
    elif spelling == "symlink":
        out = tmp_path / "link.mp4"
        out.symlink_to(source)
    elif spelling == "dotdot_existing":
        (tmp_path / "sub").mkdir()
        out = f"{tmp_path}/sub/../X.mp4"
    else:
        out = f"{tmp_path}/missing_sub/../X.mp4"
    before = snapshots(tmp_path, prepared["dir"])
    code, stdout, err, seconds = timed(run_cli, "DanceDemo.py", "--source", source, "--data", prepared["dir"],
                                       flag, out)
    one_error(code, err, "is one of the inputs")
    assert snapshots(tmp_path, prepared["dir"]) == before
    assert seconds < FAST_SECONDS


# ====================================================================== 3. another person's model
def test_model_records_its_dataset_fingerprint(vanilla_trained):
    from VideoSkeleton import VideoSkeleton
    settings = model_settings(vanilla_trained["dir"] / "models" / "vanilla_ske_64.pt")
    assert settings["dataset_fingerprint"] == VideoSkeleton(str(vanilla_trained["dir"])).fingerprint
    checkpoint = model_settings(vanilla_trained["dir"] / "models" / "vanilla_ske_64.ckpt.pt")
    assert checkpoint["dataset_fingerprint"] == settings["dataset_fingerprint"]


def test_model_of_another_person_is_refused(sample, vanilla_trained, tmp_path, run_cli, prepare_cli, one_error):
    from VideoSkeleton import VideoSkeleton
    data = copy_dataset(vanilla_trained["dir"], tmp_path / "target64")
    models_before = snapshot(data / "models")
    # The same folder prepared again from another person's video: its models are kept...
    code, out, err = prepare_cli(sample["source"], data, "--force")
    assert code == 0, err
    assert snapshot(data / "models") == models_before
    recorded = model_settings(data / "models" / "vanilla_ske_64.pt")["dataset_fingerprint"]
    assert VideoSkeleton(str(data)).fingerprint != recorded
    # ... but refused for the new person.
    out_video = tmp_path / "OUT.mp4"
    before = snapshot(tmp_path)
    code, out, err = run_cli("DanceDemo.py", "--source", sample["source"], "--data", data, "--gen", "vanilla_ske",
                             "--out", out_video)
    one_error(code, err, "vanilla_ske_64.pt", "another dataset", "--restart")
    assert not out_video.exists()
    assert snapshot(tmp_path) == before


# ====================================================================== 4. output paths checked before any work
def demo_output_case(case, tmp_path):
    """(--out value, texts the error must hold, the path that must not appear or None)."""
    if case == "folder":
        folder = tmp_path / "SOMEFOLDER"
        folder.mkdir()
        (folder / "keep.txt").write_text("keep me\n")
        return folder, ["is a folder"], None
    if case == "no_extension":
        return tmp_path / "name", ["no extension"], tmp_path / "name"
    if case == "unknown_extension":
        return tmp_path / "name.xyz", ["unknown extension", ".xyz"], tmp_path / "name.xyz"
    if case == "missing_folder":
        return tmp_path / "missingfolder" / "out.mp4", ["does not exist"], tmp_path / "missingfolder"
    if case == "under_a_file":
        (tmp_path / "afile.txt").write_text("a file\n")
        return tmp_path / "afile.txt" / "out.mp4", ["is a file, not a folder"], None
    if case == "unwritable":
        if os.geteuid() == 0:
            pytest.skip("running as root: every folder is writable, a read-only folder cannot be tested")
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro / "out.mp4", ["not writable"], ro / "out.mp4"
    raise ValueError(case)


@pytest.mark.parametrize("case", ["folder", "no_extension", "unknown_extension", "missing_folder", "under_a_file",
                                  "unwritable"])
def test_demo_output_path_checked_before_any_work(case, sample, prepared, tmp_path, run_cli, one_error):
    src = tmp_path / "src"
    src.mkdir()
    source = src / "fresh_source.mp4"   # no cache for it: a late check would first detect its skeletons
    shutil.copy(sample["source"], source)
    work = tmp_path / "work"
    work.mkdir()
    out, expected, absent = demo_output_case(case, work)
    from DanceDemo import source_cache_path
    before = snapshots(tmp_path, prepared["dir"])
    try:
        code, stdout, err, seconds = timed(run_cli, "DanceDemo.py", "--source", source, "--data", prepared["dir"],
                                           "--out", out)
        one_error(code, err, *expected)
        assert snapshots(tmp_path, prepared["dir"]) == before
        if absent is not None:
            assert not absent.exists()
        assert not os.path.exists(source_cache_path(str(source))), "the source was examined before the check"
        assert seconds < FAST_SECONDS
    finally:
        if case == "unwritable":
            (work / "ro").chmod(0o755)


def test_eval_out_that_is_a_file(prepared, tmp_path, run_cli, one_error):
    afile = tmp_path / "AFILE"
    afile.write_text("not a folder\n")
    before = snapshots(tmp_path, prepared["dir"])
    code, out, err, seconds = timed(run_cli, "DanceEval.py", "--data", prepared["dir"], "--out", afile)
    one_error(code, err, str(afile), "is a file")
    assert snapshots(tmp_path, prepared["dir"]) == before
    assert seconds < FAST_SECONDS


def test_eval_out_that_is_the_dataset(prepared, run_cli, one_error):
    before = snapshot(prepared["dir"])
    code, out, err, seconds = timed(run_cli, "DanceEval.py", "--data", prepared["dir"], "--out", prepared["dir"])
    one_error(code, err, "holds the input")
    assert snapshot(prepared["dir"]) == before
    assert seconds < FAST_SECONDS


def test_sample_out_that_is_a_file(tmp_path, run_cli, one_error):
    afile = tmp_path / "AFILE"
    afile.write_text("not a folder\n")
    before = snapshot(tmp_path)
    code, out, err, seconds = timed(run_cli, "DanceSample.py", "--out", afile, "--seconds", 1)
    one_error(code, err, str(afile), "is a file")
    assert snapshot(tmp_path) == before
    assert seconds < FAST_SECONDS


def test_nearest_grid_with_an_unknown_image_extension(prepared, tmp_path, run_cli, one_error):
    out = tmp_path / "grid.xyz"
    before = snapshots(tmp_path, prepared["dir"])
    code, stdout, err, seconds = timed(run_cli, "GenNearest.py", "--data", prepared["dir"], "--out", out)
    one_error(code, err, "grid.xyz", "image file name")
    assert snapshots(tmp_path, prepared["dir"]) == before
    assert seconds < FAST_SECONDS


# ====================================================================== 5. bad numbers, damaged caches
@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_sample_seconds_not_finite(value, tmp_path, run_cli, one_error):
    out = tmp_path / "sample"
    code, stdout, err = run_cli("DanceSample.py", f"--seconds={value}", "--out", out)   # -inf is no flag
    one_error(code, err, "--seconds")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("damage", ["half", "empty"])
def test_truncated_source_cache_is_said_and_redone(damage, sample, prepared, tmp_path, run_cli, count_frames):
    from DanceDemo import source_cache_path
    source = tmp_path / f"cache_source_{damage}.mp4"   # its own cache, shared with no other test
    shutil.copy(sample["source"], source)
    cache = Path(source_cache_path(str(source)))
    assert cache.parent == Path(os.environ["DANCE_DATA"]) / "cache"
    code, out, err = run_cli("DanceDemo.py", "--source", source, "--data", prepared["dir"], "--out", tmp_path / "a.mp4")
    assert code == 0, err
    assert cache.is_file() and "damaged" not in out
    whole = cache.read_bytes()
    cache.write_bytes(whole[:len(whole) // 2] if damage == "half" else b"")
    code, out, err = run_cli("DanceDemo.py", "--source", source, "--data", prepared["dir"], "--out", tmp_path / "b.mp4")
    assert code == 0, err
    assert out.count("damaged") == 1, out
    assert (tmp_path / "b.mp4").is_file()
    assert count_frames(tmp_path / "b.mp4") == count_frames(tmp_path / "a.mp4") == 50
    with np.load(cache, allow_pickle=False) as data:
        assert data["landmarks"].shape == (50, 33, 3)
        assert data["found"].shape == (50,)


# ====================================================================== 6. --size that no network can have
@pytest.mark.parametrize("size", [0, 100])
@pytest.mark.parametrize("command", ["GenGAN", "DanceDemo"])
def test_size_not_a_power_of_two(command, size, sample, prepared, tmp_path, run_cli, one_error):
    before = snapshots(tmp_path, prepared["dir"])
    if command == "GenGAN":
        args = ("GenGAN.py", "--data", prepared["dir"], "--size", size, "--epochs", 1)
    else:
        args = ("DanceDemo.py", "--source", sample["source"], "--data", prepared["dir"], "--size", size,
                "--out", tmp_path / "x.mp4")
    code, out, err, seconds = timed(run_cli, *args)
    one_error(code, err, f"--size {size}")
    assert snapshots(tmp_path, prepared["dir"]) == before
    assert seconds < FAST_SECONDS


# ====================================================================== 8. corrupt model files
def test_corrupt_gan_model_file(sample, prepared, tmp_path, run_cli, one_error):
    data = copy_dataset(prepared["dir"], tmp_path / "target64")
    (data / "models").mkdir()
    model = data / "models" / "gan_64.pt"
    model.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    before = snapshot(tmp_path)
    code, out, err = run_cli("DanceDemo.py", "--source", sample["source"], "--data", data, "--gen", "gan",
                             "--out", tmp_path / "x.mp4")
    line = one_error(code, err, str(model), "train it again with", "GenGAN.py")
    assert "weights_only" not in line
    assert "weights_only" not in err
    assert snapshot(tmp_path) == before


def test_corrupt_checkpoint(prepared, tmp_path, run_cli, one_error):
    data = copy_dataset(prepared["dir"], tmp_path / "target64")
    (data / "models").mkdir()
    checkpoint = data / "models" / "vanilla_ske_64.ckpt.pt"
    checkpoint.write_bytes(np.random.default_rng(2).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    before = snapshot(tmp_path)
    code, out, err = run_cli("GenVanilla.py", "--data", data, "--opt", 1, "--epochs", 1, *SMALL_NET)
    line = one_error(code, err, str(checkpoint), "--restart")
    assert "weights_only" not in line
    assert "weights_only" not in err
    assert snapshot(tmp_path) == before


# ====================================================================== 9. the size follows the dataset
def test_gan_trains_at_the_datasets_size(gan_trained):
    models = gan_trained["dir"] / "models"
    assert (models / "gan_64.pt").is_file()
    assert not (models / "gan_128.pt").exists()
    assert sorted(p for p in os.listdir(models) if p.endswith(".pt")) == ["gan_64.ckpt.pt", "gan_64.pt"]
    settings = model_settings(models / "gan_64.pt")
    assert settings["image_size"] == 64 and settings["epochs"] == 1


def test_demo_uses_the_gan_of_the_datasets_size(sample, gan_trained, tmp_path, run_cli, count_frames):
    out = tmp_path / "x.mp4"
    before = snapshot(gan_trained["dir"])
    code, stdout, err = run_cli("DanceDemo.py", "--source", sample["source"], "--data", gan_trained["dir"],
                                "--gen", "gan", "--out", out)
    assert code == 0, err
    assert count_frames(out) == 50
    assert snapshot(gan_trained["dir"]) == before


def test_demo_size_without_a_model_names_the_sizes_there(sample, gan_trained, tmp_path, run_cli, one_error):
    out = tmp_path / "x.mp4"
    before = snapshots(tmp_path, gan_trained["dir"])
    code, stdout, err = run_cli("DanceDemo.py", "--source", sample["source"], "--data", gan_trained["dir"],
                                "--gen", "gan", "--size", 128, "--out", out)
    one_error(code, err, "gan_128.pt", "models there: 64 px")
    assert not out.exists()
    assert snapshots(tmp_path, gan_trained["dir"]) == before


# ====================================================================== 10. the common flags
def test_demo_data_and_target_are_the_same_flag(demo_run, prepared, run_cli, count_frames):
    out = demo_run["folder"] / "with_target.mp4"
    code, stdout, err = run_cli("DanceDemo.py", "--source", demo_run["source"], "--target", prepared["dir"],
                                "--out", out)
    assert code == 0, err
    assert count_frames(out) == count_frames(demo_run["out"]) == 50
    assert "(nearest)" in stdout and "(nearest)" in demo_run["stdout"]


def test_eval_quick_with_data(eval_run):
    assert eval_run["code"] == 0, eval_run["stderr"]
    report = json.loads((eval_run["out"] / "report.json").read_text())
    assert set(report["generators"]) == {"nearest", "nearest_noplate"}   # a still camera: with and without the plate
    assert report["quick"] is True and report["image_size"] == 64
    assert eval_run["dataset_unchanged"]


def test_nearest_grid_with_data(prepared, tmp_path, run_cli):
    out = tmp_path / "grid.png"
    code, stdout, err = run_cli("GenNearest.py", "--data", prepared["dir"], "--out", out)
    assert code == 0, err
    grid = cv2.imread(str(out))
    assert grid is not None and grid.shape[0] == 3 * 64


def test_epochs_count_in_all(vanilla_trained, tmp_path, run_cli):
    import torch
    data = copy_dataset(vanilla_trained["dir"], tmp_path / "target64")
    model = data / "models" / "vanilla_ske_64.pt"
    assert model_settings(model)["epochs"] == 1
    weights = torch.load(model, map_location="cpu", weights_only=True)["state_dict"]
    code, out, err = run_cli("GenVanilla.py", "--data", data, "--opt", 1, "--epochs", 1, *SMALL_NET)
    assert code == 0, err
    assert "nothing to train" in out
    assert model_settings(model)["epochs"] == 1
    again = torch.load(model, map_location="cpu", weights_only=True)["state_dict"]
    assert again.keys() == weights.keys()
    assert all(torch.equal(again[k], weights[k]) for k in weights), "no epoch was trained"
    code, out, err = run_cli("GenVanilla.py", "--data", data, "--opt", 1, "--epochs", 2, *SMALL_NET)
    assert code == 0, err
    assert "nothing to train" not in out
    assert model_settings(model)["epochs"] == 2
    assert model_settings(data / "models" / "vanilla_ske_64.ckpt.pt")["epochs"] == 2


# ====================================================================== 11. a quiet console
def test_quiet_console_when_preparing(prepared):
    assert "examined 25, kept 25" in prepared["stdout"], "MediaPipe ran"
    assert_quiet(prepared["stdout"], prepared["stderr"])


def test_quiet_console_when_writing_a_demo_video(demo_run):
    assert "skeletons of 50 frames detected" in demo_run["stdout"], "MediaPipe ran"
    assert_quiet(demo_run["stdout"], demo_run["stderr"])


def test_quiet_console_when_evaluating(eval_run):
    assert eval_run["code"] == 0, eval_run["stderr"]
    assert_quiet(eval_run["stdout"], eval_run["stderr"])


# ====================================================================== 12. caches go to the project's data folder
def test_demo_from_another_folder_writes_nothing_there(sample, prepared, tmp_path, count_frames, run_demo):
    from DanceDemo import source_cache_path
    source = tmp_path / "elsewhere_source.mp4"
    shutil.copy(sample["source"], source)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = run_demo(cwd, "--source", source, "--data", prepared["dir"])   # no display: the default output
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(cwd) == [], "nothing written into the current folder"
    assert not (cwd / "data").exists()
    dance_data = Path(os.environ["DANCE_DATA"])
    cache = Path(source_cache_path(str(source)))
    assert cache.parent == dance_data / "cache" and cache.is_file()
    output = dance_data / "demo_elsewhere_source_target64_nearest.mp4"
    assert output.is_file() and count_frames(output) == 50

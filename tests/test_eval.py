"""DanceEval: the --quick path on a small real dataset, the report's schema, and measures that can tell good from bad."""
import json
import shutil

import numpy as np
import pytest

from conftest import run_module, visible_stderr_lines

KEYS = {"ssim", "psnr", "pose_error", "detect_rate", "flicker", "sharpness", "ms_per_frame", "train_seconds"}


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    """100 consecutive-in-time crops of taichi1 with their landmarks, as a prepared dataset of its own."""
    from conftest import SHARED_DATA
    source = SHARED_DATA / "taichi1"
    if not source.is_dir():
        pytest.skip("../shared/data/taichi1 is absent: the evaluation tests need real crops")
    folder = tmp_path_factory.mktemp("eval") / "taichi_small"
    (folder / "images").mkdir(parents=True)
    with np.load(source / "landmarks.npz", allow_pickle=False) as data:
        keep = np.arange(400, 500)
        arrays = {k: data[k][keep] for k in ("landmarks", "image", "frame")}
    for name in arrays["image"]:
        shutil.copy(source / "images" / str(name), folder / "images" / str(name))
    np.savez(folder / "landmarks.npz", **arrays)
    return folder


class BlackGenerator:
    """A generator that has learnt nothing: every answer is a black image."""

    def generate(self, ske):
        return np.zeros((128, 128, 3), np.uint8)


@pytest.fixture(scope="module")
def quick_report(small_dataset, tmp_path_factory):
    import DanceEval
    out = tmp_path_factory.mktemp("eval_out")
    report = DanceEval.evaluate(str(small_dataset), str(out), quick=True, progress=False,
                                extra={"black": BlackGenerator()})
    return report, out


def test_quick_run_writes_every_file_and_key(quick_report):
    report, out = quick_report
    for name in ("report.json", "report.md", "grid.png", "training_curve.png"):
        assert (out / name).is_file(), name
    on_disk = json.loads((out / "report.json").read_text())
    for key in ("dataset", "device", "image_size", "n_train", "n_test", "generators", "real"):
        assert key in on_disk
    assert set(on_disk["generators"]) == {"nearest", "vanilla_ske", "vanilla_image", "gan", "black"}
    assert on_disk["n_train"] + on_disk["n_test"] == 60 and on_disk["n_test"] == 12
    for name, scores in on_disk["generators"].items():
        assert set(scores) == KEYS, name
        assert -1 <= scores["ssim"] <= 1
        assert 0 <= scores["detect_rate"] <= 1
        assert scores["ms_per_frame"] > 0
        assert scores["flicker"] >= 0 and scores["sharpness"] >= 0
    assert {"pose_error", "detect_rate"} == set(on_disk["real"])
    for name in ("vanilla_ske", "vanilla_image", "gan"):
        assert on_disk["generators"][name]["train_seconds"] > 0
        assert (out / "models" / f"{name}_128.pt").is_file()


def test_real_frames_score_a_small_pose_error_against_their_own_skeletons(quick_report):
    real = quick_report[0]["real"]
    assert real["detect_rate"] >= 0.8
    assert real["pose_error"] < 0.2   # a fifth of the torso: MediaPipe agrees with itself on real frames


def test_a_black_image_scores_worse_than_nearest_on_every_measure(quick_report):
    g = quick_report[0]["generators"]
    nearest, black = g["nearest"], g["black"]
    assert black["ssim"] < nearest["ssim"]
    assert black["psnr"] < nearest["psnr"]
    assert black["detect_rate"] < nearest["detect_rate"]
    assert black["pose_error"] is None or black["pose_error"] > nearest["pose_error"]
    assert abs(black["flicker"] - 1) > abs(nearest["flicker"] - 1)      # 1.0 = as steady as reality
    assert abs(black["sharpness"] - 1) > abs(nearest["sharpness"] - 1)  # 1.0 = as sharp as reality


def test_a_second_quick_run_reuses_the_trained_models(small_dataset, quick_report):
    import DanceEval
    report, out = quick_report
    model = out / "models" / "gan_128.pt"
    written = model.stat().st_mtime_ns
    again = DanceEval.evaluate(str(small_dataset), str(out), gens=["gan"], quick=True, progress=False)
    assert model.stat().st_mtime_ns == written   # not trained (nor saved) again
    # the model file records its training time to 0.1 s
    assert again["generators"]["gan"]["train_seconds"] == pytest.approx(report["generators"]["gan"]["train_seconds"], abs=0.06)


def assert_one_clear_error(returncode, stderr, *words):
    lines = visible_stderr_lines(stderr)
    assert returncode != 0 and "Traceback" not in stderr
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0]


def test_a_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / "nothing").mkdir()
    code, _, err = run_module("DanceEval.py", tmp_path / "nothing", "--quick", "--out", tmp_path / "out")
    assert_one_clear_error(code, err, "nothing", "not a prepared dataset")
    assert not (tmp_path / "out" / "report.json").exists()


def test_a_dataset_of_fewer_than_ten_frames(small_dataset, tmp_path):
    tiny = tmp_path / "tiny"
    (tiny / "images").mkdir(parents=True)
    with np.load(small_dataset / "landmarks.npz", allow_pickle=False) as data:
        arrays = {k: data[k][:5] for k in data.files}
    for name in arrays["image"]:
        shutil.copy(small_dataset / "images" / str(name), tiny / "images" / str(name))
    np.savez(tiny / "landmarks.npz", **arrays)
    code, _, err = run_module("DanceEval.py", tiny, "--quick", "--out", tmp_path / "out")
    assert_one_clear_error(code, err, "tiny", "10")
    assert not (tmp_path / "out" / "report.json").exists()

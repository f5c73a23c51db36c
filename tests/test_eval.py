"""DanceEval: the --quick path on the prepared synthetic sample, the report's schema, and measures
that can tell good from bad. tests/test_real_footage.py scores real crops (taichi1) the same way."""
import json

import numpy as np
import pytest

KEYS = {"ssim", "psnr", "pose_error", "detect_rate", "flicker", "sharpness", "ms_per_frame", "train_seconds"}


class BlackGenerator:
    """A generator that has learnt nothing: every answer is a black image."""

    def __init__(self, size):
        self.size = size

    def generate(self, ske):
        return np.zeros((self.size, self.size, 3), np.uint8)


@pytest.fixture(scope="module")
def small_dataset(sample_dataset):
    """The prepared sample target (100 crops of 64 px in time order; --quick keeps 60 of them)."""
    assert len(sample_dataset) >= 60, "the --quick subset must be a subset"
    return sample_dataset


@pytest.fixture(scope="module")
def quick_report(small_dataset, tmp_path_factory):
    import DanceEval
    out = tmp_path_factory.mktemp("eval_out")
    report = DanceEval.evaluate(small_dataset.directory, str(out), quick=True, progress=False,
                                extra={"black": BlackGenerator(small_dataset.image_size)})
    return report, out


def test_quick_run_writes_every_file_and_key(quick_report, small_dataset):
    report, out = quick_report
    for name in ("report.json", "report.md", "grid.png", "training_curve.png"):
        assert (out / name).is_file(), name
    on_disk = json.loads((out / "report.json").read_text())
    for key in ("dataset", "device", "image_size", "n_train", "n_test", "generators", "real"):
        assert key in on_disk
    gens = {"nearest", "vanilla_ske", "vanilla_image", "gan"}
    if getattr(small_dataset, "has_plate", False):   # with a background plate, each one also as NAME_noplate
        gens |= {name + "_noplate" for name in gens}
    if on_disk.get("paste_size"):                     # with sharp crops, the GAN also without its enhancer
        gens.add("gan_noenhancer")
    assert set(on_disk["generators"]) == gens | {"black"}
    assert on_disk["n_train"] + on_disk["n_test"] == 60 and on_disk["n_test"] == 12
    for name, scores in on_disk["generators"].items():
        assert KEYS <= set(scores), name    # and the measures that only some datasets have (masks)
        assert -1 <= scores["ssim"] <= 1
        assert 0 <= scores["detect_rate"] <= 1
        assert scores["ms_per_frame"] > 0
        assert scores["flicker"] >= 0 and scores["sharpness"] >= 0
    assert {"pose_error", "detect_rate"} == set(on_disk["real"])
    for name in ("vanilla_ske", "vanilla_image", "gan"):
        assert on_disk["generators"][name]["train_seconds"] > 0
        assert (out / "models" / f"{name}_{small_dataset.image_size}.pt").is_file()


def test_real_frames_score_a_small_pose_error_against_their_own_skeletons(quick_report):
    real = quick_report[0]["real"]
    assert real["detect_rate"] >= 0.8
    assert real["pose_error"] < 0.2   # a fifth of the torso: MediaPipe agrees with itself on the crops


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
    model = out / "models" / f"gan_{small_dataset.image_size}.pt"
    written = model.stat().st_mtime_ns
    again = DanceEval.evaluate(small_dataset.directory, str(out), gens=["gan"], quick=True, progress=False)
    assert model.stat().st_mtime_ns == written   # not trained (nor saved) again
    # the model file records its training time to 0.1 s
    assert again["generators"]["gan"]["train_seconds"] == pytest.approx(report["generators"]["gan"]["train_seconds"], abs=0.06)


def test_another_seed_trains_again_from_another_start(small_dataset, quick_report):
    import DanceEval
    report, out = quick_report
    model = out / "models" / f"vanilla_ske_{small_dataset.image_size}.pt"
    written = model.stat().st_mtime_ns
    other = DanceEval.evaluate(small_dataset.directory, str(out), gens=["vanilla_ske"], quick=True, progress=False,
                               seed=1)
    assert model.stat().st_mtime_ns != written and other["seed"] == 1 and report["seed"] == DanceEval.SEED
    assert other["generators"]["vanilla_ske"]["ssim"] != report["generators"]["vanilla_ske"]["ssim"]


def test_the_decoder_is_chosen_recorded_and_checked(small_dataset, quick_report, tmp_path):
    """The decoder is recorded in the report (the product trains the default; evaluate(upsample=) measures the
    decoders old files use); a typo is refused."""
    import DanceEval
    from DanceUtils import DanceError
    from ModelFile import read_torch_file
    from GenVanilla import UPSAMPLE
    default_report, _ = quick_report
    assert default_report["upsample"] == UPSAMPLE
    report = DanceEval.evaluate(small_dataset.directory, str(tmp_path), gens=["gan"], quick=True, progress=False,
                                upsample="nearest")
    assert report["upsample"] == "nearest" and "decoder nearest" in (tmp_path / "report.md").read_text()
    model = read_torch_file(str(tmp_path / "models" / f"gan_{small_dataset.image_size}.pt"))
    assert model["settings"]["upsample"] == "nearest"
    with pytest.raises(DanceError, match="upsample 'bicubic': not a U-Net decoder; choose one of"):
        DanceEval.evaluate(small_dataset.directory, str(tmp_path / "other"), gens=["gan"], quick=True,
                           progress=False, upsample="bicubic")


@pytest.mark.parametrize("script", ["GenVanilla.py", "GenGAN.py", "DanceEval.py"])
def test_the_decoder_is_no_flag_of_the_product(script, run_cli):
    """The decoders that lost their measurement are no choice for new models (old files still load)."""
    code, out, err = run_cli(script, "--help", timeout=120)
    assert code == 0 and "--upsample" not in out


def test_a_folder_that_is_not_a_dataset(tmp_path, run_cli, one_error):
    (tmp_path / "nothing").mkdir()
    code, _, err = run_cli("DanceEval.py", tmp_path / "nothing", "--quick", "--out", tmp_path / "out")
    one_error(code, err, "nothing", "not a prepared dataset")
    assert not (tmp_path / "out" / "report.json").exists()


def test_a_dataset_of_fewer_than_ten_frames(make_small_dataset, tmp_path, run_cli, one_error):
    tiny = make_small_dataset(tmp_path / "tiny", count=5)
    code, _, err = run_cli("DanceEval.py", tiny.directory, "--quick", "--out", tmp_path / "out")
    one_error(code, err, "tiny", "10")
    assert not (tmp_path / "out" / "report.json").exists()


def test_time_budgets_share_the_minutes_among_the_networks_only():
    from DanceEval import MINUTES, budget_for

    assert budget_for("nearest", None, False, None) is None      # nothing to train
    assert budget_for("gan", None, False, None) == {"minutes": MINUTES["gan"]}
    shares = [budget_for(name, None, False, 30)["minutes"] for name in MINUTES]
    assert sum(shares) == pytest.approx(30, abs=0.05)
    assert budget_for("gan", 3, False, 30) == {"epochs": 3} and budget_for("gan", None, True, None) == {"epochs": 1}


def test_a_model_of_an_interrupted_run_is_not_reused(small_dataset, tmp_path):
    """A run stopped after its first epoch leaves a model file; the next run trains its whole budget."""
    import DanceEval
    split = DanceEval.HeldOut(small_dataset, True, small_dataset.image_size)
    budget = {"epochs": 2}

    def stop(gen):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        DanceEval.trained_generator("vanilla_ske", split.dataset, split.train_items, budget, split.size, "cpu",
                                    str(tmp_path), stop, progress=False, upsample="resize")
    assert (tmp_path / f"vanilla_ske_{split.size}.pt").is_file()
    epochs = []
    gen = DanceEval.trained_generator("vanilla_ske", split.dataset, split.train_items, budget, split.size, "cpu",
                                      str(tmp_path), lambda gen: epochs.append(gen.epochs_done), progress=False,
                                      upsample="resize")
    assert epochs == [1, 2] and gen.epochs_done == 2

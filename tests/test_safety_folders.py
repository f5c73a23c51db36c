"""A preparation never loses what the user had: folders it did not make stay, a run killed half way
is finished or undone (models first), files that appear during a preparation are not deleted, links
and odd --out spellings are refused in one line, and a damaged dataset (a plate of another size, cut
short, no boxes, no masks) is one line, never a crash.

Every case runs the real command line on real files and compares the sha256 of every file the user
had before and after (tests/test_safety.py's `snapshot`). A run killed half way is simulated as a
kill leaves it: the folders renamed by hand, each with the marker the code writes.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from DatasetFolder import OWN_MARKER, foreign_entries
from safety_helpers import copy_dataset, snapshot, snapshots


def dead_pid():
    """The id of a process that has ended (a killed run's)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def mark_as_killed_run(folder, name=None):
    """Write the marker a preparation writes in its own folders, as a run that was killed left it."""
    (Path(folder) / OWN_MARKER).write_text(f"{name or Path(folder).name}\n{dead_pid()}\n")


def leftovers(parent):
    return sorted(p for p in os.listdir(parent) if ".partial-" in p or ".old-" in p)


@pytest.fixture(scope="module")
def empty_video(tmp_path_factory):
    """A short video of an empty room: no person in any frame (a preparation of it fails)."""
    path = tmp_path_factory.mktemp("empty_video") / "empty_room.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 120))
    for k in range(10):
        writer.write(np.full((120, 160, 3), 90 + k, np.uint8))
    writer.release()
    return path


@pytest.fixture
def with_models(prepared, tmp_path):
    """A copy of the prepared dataset, `ds`, holding a trained model of the user's."""
    data = copy_dataset(prepared["dir"], tmp_path / "ds")
    (data / "models").mkdir()
    (data / "models" / "gan_64.pt").write_bytes(b"the user's trained model")
    return data


# ====================================================================== folders the project did not make
def test_users_backups_beside_the_dataset_survive_a_failed_and_a_good_preparation(sample, with_models, empty_video,
                                                                                   tmp_path, prepare_cli, one_error):
    """`cp -a ds ds.old-backup` and `ds.partial-mine/models/my_best.pt` look like leftovers but are not ours."""
    backup = copy_dataset(with_models, tmp_path / "ds.old-backup")
    mine = tmp_path / "ds.partial-mine"
    (mine / "models").mkdir(parents=True)
    (mine / "models" / "my_best.pt").write_bytes(b"my best model")
    users = snapshots(backup, mine, with_models)
    code, out, err = prepare_cli(empty_video, with_models, "--force")
    one_error(code, err, "no person found")
    assert snapshots(backup, mine, with_models) == users
    code, out, err = prepare_cli(sample["target"], with_models, "--force")
    assert code == 0, err
    assert snapshots(backup, mine) == {k: v for k, v in users.items() if k != str(with_models)}
    assert (with_models / "models" / "gan_64.pt").read_bytes() == b"the user's trained model"
    assert leftovers(tmp_path) == ["ds.old-backup", "ds.partial-mine"]


def test_a_copied_leftover_is_not_ours(sample, with_models, tmp_path, prepare_cli):
    """A leftover's marker names the folder it was made for: a copy under another name is the user's."""
    ours = copy_dataset(with_models, tmp_path / "ds.old-abc12345")
    shutil.rmtree(ours / "models")
    mark_as_killed_run(ours)
    copied = copy_dataset(ours, tmp_path / "ds.old-copy")
    before = snapshot(copied)
    code, out, err = prepare_cli(sample["target"], with_models, "--force")
    assert code == 0, err
    assert not ours.exists(), "the killed run's own leftover is removed once the new dataset is in place"
    assert snapshot(copied) == before


def test_leftovers_stay_until_a_new_dataset_is_in_place(sample, empty_video, tmp_path, prepare_cli, one_error):
    ours = tmp_path / "dance.partial-abc123"
    (ours / "images").mkdir(parents=True)
    (ours / "images" / "image0.jpg").write_bytes(b"half a jpeg")
    mark_as_killed_run(ours)
    users = tmp_path / "dance.partial-user"
    users.mkdir()
    (users / "mine.txt").write_text("mine, not a preparation's\n")
    before = snapshots(ours, users)
    code, out, err = prepare_cli(empty_video, tmp_path / "dance")
    one_error(code, err, "no person found")
    assert snapshots(ours, users) == before, "nothing is removed before a new dataset is in place"
    code, out, err = prepare_cli(sample["target"], tmp_path / "dance")
    assert code == 0, err
    assert not ours.exists()
    assert snapshot(users) == before[str(users)]
    assert sorted(os.listdir(tmp_path)) == ["dance", "dance.partial-user"]


def test_a_live_runs_work_folder_is_never_removed(sample, tmp_path, prepare_cli):
    """Two preparations into one folder at once: the other's work folder (its process alive) stays."""
    other = tmp_path / "dance.partial-live"
    (other / "images").mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        (other / OWN_MARKER).write_text(f"{other.name}\n{sleeper.pid}\n")
        code, out, err = prepare_cli(sample["target"], tmp_path / "dance")
        assert code == 0, err
        assert other.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()


# ====================================================================== a run killed half way
def killed_mid_swap(dataset):
    """What a run killed just after `ds -> ds.old-X` leaves: ds missing, ds.old-X and its work folder."""
    old, work = dataset.parent / f"{dataset.name}.old-abc12345", dataset.parent / f"{dataset.name}.partial-abc12345"
    os.rename(dataset, old)
    mark_as_killed_run(old)
    (work / "images").mkdir(parents=True)
    mark_as_killed_run(work)
    return old, work


def test_killed_after_moving_the_dataset_aside_puts_it_back_with_its_models(sample, with_models, tmp_path,
                                                                           prepare_cli):
    """Killed between `ds -> ds.old-X` and moving its models: ds is missing, its models in ds.old-X."""
    models = snapshot(with_models / "models")
    old, work = killed_mid_swap(with_models)
    for run in range(2):
        code, out, err = prepare_cli(sample["target"], with_models)
        assert code == 0, err
        assert ("put back as it was" in out) == (run == 0), out
        assert snapshot(with_models / "models") == models, f"run {run + 1}"
        assert leftovers(tmp_path) == []


def test_killed_after_moving_the_models_puts_them_back(sample, with_models, tmp_path, prepare_cli):
    """Killed between moving the models into the new dataset and putting it in place."""
    models = snapshot(with_models / "models")
    old, work = killed_mid_swap(with_models)
    os.rename(old / "models", work / "models")
    code, out, err = prepare_cli(sample["target"], with_models)
    assert code == 0, err
    assert "put back as it was" in out
    assert snapshot(with_models / "models") == models
    assert leftovers(tmp_path) == []


def test_killed_after_the_new_dataset_was_in_place_is_finished(sample, with_models, tmp_path, prepare_cli):
    """Killed before removing ds.old-X: the new dataset holds the models; the old one goes."""
    models = snapshot(with_models / "models")
    old = copy_dataset(with_models, tmp_path / "ds.old-abc12345")
    shutil.rmtree(old / "models")
    mark_as_killed_run(old)
    code, out, err = prepare_cli(sample["target"], with_models)
    assert code == 0, err
    assert snapshot(with_models / "models") == models
    assert leftovers(tmp_path) == []


def test_models_in_a_folder_renamed_by_hand_are_never_deleted(sample, with_models, tmp_path, prepare_cli):
    """The probe's simulation: `mv ds ds.old-abc12345` with no marker, then prepare twice."""
    hand = tmp_path / "ds.old-abc12345"
    os.rename(with_models, hand)
    before = snapshot(hand)
    for _ in range(2):
        code, out, err = prepare_cli(sample["target"], with_models, "--force")
        assert code == 0, err
        assert snapshot(hand) == before


# ====================================================================== files that appear during a preparation
def test_a_file_written_into_the_dataset_during_a_forced_preparation_is_kept(sample, with_models, monkeypatch,
                                                                             capsys):
    """Checked again at the moment of replacing: the preparation is refused then, nothing is replaced."""
    import VideoSkeleton as vs_module
    import DatasetPreparation as prep_module
    real_detect = prep_module.detect_poses

    def detect_then_user_writes(*args, **kwargs):
        result = real_detect(*args, **kwargs)
        (with_models / "notes.txt").write_text("written while the preparation ran\n")
        return result

    monkeypatch.setattr(prep_module, "detect_poses", detect_then_user_writes)
    before_dataset = snapshot(with_models)
    with pytest.raises(vs_module.DanceError, match="notes.txt appeared in it during the preparation"):
        vs_module.VideoSkeleton(str(sample["target"]), forceCompute=True, modFrame=2, size=64,
                                out_dir=str(with_models), progress=False)
    after = snapshot(with_models)
    assert after.pop("notes.txt")
    assert after == before_dataset
    assert leftovers(with_models.parent) == []


def test_a_users_file_inside_images_is_refused(sample, with_models, prepare_cli, one_error):
    (with_models / "images" / "holiday.jpg").write_bytes(b"\xff\xd8 my holiday photo")
    before = snapshot(with_models.parent)
    code, out, err = prepare_cli(sample["target"], with_models, "--force")
    one_error(code, err, "images/holiday.jpg", "nothing was changed")
    assert snapshot(with_models.parent) == before


def test_foreign_entries_look_inside_images_and_masks(with_models):
    assert foreign_entries(with_models) == []
    (with_models / "masks" / "sub").mkdir()
    (with_models / "images" / "image3.jpg.bak").write_bytes(b"x")
    assert foreign_entries(with_models) == ["images/image3.jpg.bak", "masks/sub"]


# ====================================================================== --out spellings
@pytest.mark.parametrize("points_at", ["dataset", "empty"])
def test_out_that_is_a_link_is_refused(points_at, sample, with_models, tmp_path, prepare_cli, one_error):
    target = with_models if points_at == "dataset" else tmp_path / "empty"
    target.mkdir(exist_ok=True)
    link = tmp_path / "link"
    link.symlink_to(target)
    before = snapshot(tmp_path)
    for spelling in (str(link), str(link) + "/"):
        code, out, err = prepare_cli(sample["target"], spelling, "--force")
        one_error(code, err, "is a link", "nothing was changed")
        assert snapshot(tmp_path) == before


def test_out_with_a_trailing_slash_prepares_the_folder(sample, with_models, tmp_path, prepare_cli):
    """What tab completion gives, for a new folder and for a dataset prepared again."""
    models = snapshot(with_models / "models")
    for folder, extra in ((tmp_path / "tabbed", ()), (with_models, ("--force",))):
        code, out, err = prepare_cli(sample["target"], str(folder) + "/", *extra)
        assert code == 0, err
        assert (folder / "landmarks.npz").is_file()
    assert sorted(os.listdir(tmp_path)) == ["ds", "tabbed"], "no hidden .partial- or .old- left"
    assert snapshot(with_models / "models") == models


def test_out_that_is_the_current_folder_is_refused(sample, tmp_path, run_cli, one_error):
    here = tmp_path / "here"
    here.mkdir()
    code, out, err = run_cli("VideoSkeleton.py", sample["target"], "--mod-frame", 2, "--size", 64, "--out", ".",
                             cwd=here)
    one_error(code, err, "--out .", "current folder")
    assert os.listdir(here) == [] and sorted(os.listdir(tmp_path)) == ["here"]


# ====================================================================== damaged datasets: one line, no crash
def demo(run_cli, sample, data, out, *extra):
    return run_cli("DanceDemo.py", "--source", sample["source"], "--data", data, "--gen", "nearest",
                   "--out", out, "--no-window", *extra)


def test_a_plate_of_another_size_is_one_line(sample, with_models, tmp_path, run_cli, one_error):
    plate = cv2.imread(str(with_models / "background.png"))
    cv2.imwrite(str(with_models / "background.png"), cv2.resize(plate, (100, 60)))
    before = snapshot(tmp_path)
    code, out, err = demo(run_cli, sample, with_models, tmp_path / "out.mp4")
    one_error(code, err, "background.png", "100x60", "prepare the dataset again")
    code, out, err = run_cli("GenVanilla.py", "--data", with_models, "--opt", 2, "--epochs", 1, "--batch", 8,
                             "--ngf", 8)
    one_error(code, err, "background.png", "100x60")
    assert snapshot(tmp_path) == before


def test_a_truncated_plate_is_our_line_alone(sample, with_models, tmp_path, run_cli, one_error):
    data = (with_models / "background.png").read_bytes()
    (with_models / "background.png").write_bytes(data[:len(data) // 2])
    code, out, err = demo(run_cli, sample, with_models, tmp_path / "out.mp4")
    one_error(code, err, "background.png", "missing or unreadable")
    assert "libpng" not in err


def test_a_plate_without_crop_boxes_is_one_line(sample, with_models, tmp_path, run_cli, one_error):
    path = with_models / "landmarks.npz"
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files if key != "crop_boxes"}
    np.savez(path, **arrays)
    code, out, err = demo(run_cli, sample, with_models, tmp_path / "out.mp4")
    one_error(code, err, "landmarks.npz", "crop_boxes", "prepare the dataset again")


def test_training_on_a_dataset_whose_masks_are_gone_is_one_line(with_models, run_cli, one_error):
    shutil.rmtree(with_models / "masks")
    before = snapshot(with_models)
    code, out, err = run_cli("GenGAN.py", "--data", with_models, "--epochs", 1, "--batch", 8, "--ngf", 8)
    one_error(code, err, "masks", "missing", "prepare the dataset again")
    assert snapshot(with_models) == before


@pytest.mark.parametrize("corner", [(-5000, 10), (5000, 10), (10, -5000), (10, 5000), (-900, -900), (700, 700)])
def test_a_box_far_outside_the_plate_repeats_its_nearest_border(prepared, corner):
    """A source dancer who jumps far sideways asks for a crop wholly outside the target's frame."""
    from VideoSkeleton import VideoSkeleton
    vs = VideoSkeleton(str(prepared["dir"]))
    side = 80
    crop = vs.plate_crop((*corner, side, side), 32)
    plate = vs.plate
    h, w = plate.shape[:2]
    ys = np.clip(np.arange(corner[1], corner[1] + side), 0, h - 1)
    xs = np.clip(np.arange(corner[0], corner[0] + side), 0, w - 1)
    expected = cv2.resize(plate[ys][:, xs], (32, 32), interpolation=cv2.INTER_AREA)
    assert crop.shape == (32, 32, 3)
    assert np.array_equal(crop, expected)


# ====================================================================== a video prepared with other settings
def test_demo_of_a_video_prepared_with_other_settings_uses_that_dataset(sample, tmp_path, run_cli, dance_data):
    """`DanceDemo --data VIDEO` after `VideoSkeleton.py VIDEO --mod-frame 2 --size 64`: loaded, not prepared
    again with the defaults (which would turn its crops into fewer and call its models stale)."""
    video = tmp_path / "settings_kept.mp4"
    shutil.copy(sample["target"], video)
    code, out, err = run_cli("VideoSkeleton.py", video, "--mod-frame", 2, "--size", 64)
    assert code == 0, err
    dataset = dance_data / "settings_kept"
    before = snapshot(dataset)
    code, out, err = demo(run_cli, sample, video, tmp_path / "out.mp4")
    assert code == 0, err
    assert snapshot(dataset) == before
    assert (tmp_path / "out.mp4").stat().st_size > 0


# ====================================================================== bounded memory of pass 1
def test_pass_one_masks_live_on_disk_and_come_back_whole(sample, tmp_path):
    from BackgroundPlate import PackedMasks, pack_mask, unpack_mask
    rng = np.random.default_rng(0)
    masks = [(rng.random((48, 64)) * (rng.random((48, 64)) > 0.7)).astype(np.float32) for _ in range(5)]
    masks.append(None)
    spill = PackedMasks(str(tmp_path / "masks.bin"))
    for mask in masks:
        spill.append(pack_mask(mask))
    assert len(spill) == len(masks)
    assert (tmp_path / "masks.bin").stat().st_size > 0
    for k, mask in enumerate(masks):
        expected = pack_mask(mask)
        assert spill[k] == expected
        assert np.array_equal(unpack_mask(spill[k], 64, 48), unpack_mask(expected, 64, 48))
    spill.close()

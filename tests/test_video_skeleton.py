"""VideoSkeleton: preparing real footage into a dataset, reusing it, loading one, and bad input.

The real clip is physio_squat.mp4 (114 frames, 1080x1080, one person in every frame);
with modFrame=10 the frames 0, 10, ..., 110 are examined: 12 of them.
"""
import os
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

import VideoSkeleton as vs_module
from DanceUtils import DanceError
from Skeleton import REDUCED_INDICES, Skeleton
from VideoReader import VideoReader
from VideoSkeleton import VideoSkeleton

REPO = Path(__file__).resolve().parents[1]


def prepare(video, out_dir, **kwargs):
    kwargs.setdefault("modFrame", 10)
    return VideoSkeleton(str(video), out_dir=str(out_dir), progress=False, **kwargs)


def leftovers(parent):
    """Entries of `parent` that an unfinished preparation would leave behind."""
    return [name for name in os.listdir(parent) if ".partial-" in name or ".old-" in name]


def snapshot(directory):
    """Every file of a dataset directory with its bytes, to prove it was not touched."""
    directory = Path(directory)
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def prepared(squat_video, tmp_path_factory):
    """physio_squat.mp4 prepared once with modFrame=10, size=128; tests copy it before changing it."""
    out_dir = tmp_path_factory.mktemp("prepared") / "squat"
    return prepare(squat_video, out_dir)


@pytest.fixture
def prepared_copy(prepared, tmp_path):
    """A private copy of the prepared dataset (its settings still match the video)."""
    copy = tmp_path / "squat"
    shutil.copytree(prepared.directory, copy)
    return copy


# ---------------------------------------------------------------------- preparing real footage
def test_prepare_keeps_every_examined_frame(prepared, squat_video):
    expected_frames = np.arange(0, 114, 10)            # 12 frames examined, a person in each
    assert prepared.skeCount() == len(expected_frames) == len(prepared)
    np.testing.assert_array_equal(prepared.frame, expected_frames)
    assert np.all(np.diff(prepared.frame) > 0)
    assert prepared.reused is False
    assert prepared.landmarks.shape == (12, 33, 3) and prepared.landmarks.dtype == np.float32
    assert all(isinstance(ske, Skeleton) for ske in prepared.ske)
    np.testing.assert_array_equal(prepared.ske[3].landmarks, prepared.landmarks[3])
    assert prepared.reduced().shape == (12, 26)
    assert prepared.settings["mod_frame"] == 10 and prepared.settings["size"] == 128
    assert prepared.fps == pytest.approx(29.97 / 10, abs=0.01)


def test_prepared_landmarks_lie_within_the_crop(prepared):
    main_joints = prepared.landmarks[:, REDUCED_INDICES, :2]
    assert main_joints.min() >= 0 and main_joints.max() <= 1
    # Each crop is centred on the person's landmarks.
    xy = prepared.landmarks[:, :, :2]
    centres = (xy.min(axis=1) + xy.max(axis=1)) / 2
    np.testing.assert_allclose(centres, 0.5, atol=0.01)


def test_prepared_images_exist_with_the_requested_size(prepared):
    for i in range(prepared.skeCount()):
        assert os.path.isfile(prepared.im[i])
        assert os.path.basename(prepared.im[i]) == f"image{prepared.frame[i]}.jpg"
        image = prepared.readImage(i)
        assert image.shape == (128, 128, 3) and image.dtype == np.uint8
    assert prepared.image_size == 128


def test_prepared_image_is_the_crop_of_its_frame(prepared, squat_video):
    """im[i] shows video frame frame[i], cut at the crop box stored with it."""
    with np.load(os.path.join(prepared.directory, "landmarks.npz")) as data:
        boxes = data["crop_boxes"]
    reader = VideoReader(str(squat_video))
    for i in (0, 6, 11):
        frame = reader.readFrameAt(int(prepared.frame[i]))
        x0, y0, side, _ = (int(v) for v in boxes[i])
        assert 0 <= x0 and 0 <= y0 and x0 + side <= 1080 and y0 + side <= 1080, "the squat fits in the frame"
        expected = cv2.resize(frame[y0:y0 + side, x0:x0 + side], (128, 128), interpolation=cv2.INTER_AREA)
        diff = np.abs(prepared.readImage(i).astype(int) - expected.astype(int)).mean()
        assert diff < 4, f"item {i}: mean difference {diff:.1f} with frame {prepared.frame[i]}'s crop"
        # A different frame of the squat does not match as well.
        other = reader.readFrameAt(int(prepared.frame[(i + 5) % 12]))
        other = cv2.resize(other[y0:y0 + side, x0:x0 + side], (128, 128), interpolation=cv2.INTER_AREA)
        assert np.abs(prepared.readImage(i).astype(int) - other.astype(int)).mean() > diff
    reader.release()


def test_prepare_at_size_64(squat_video, tmp_path):
    vs = prepare(squat_video, tmp_path / "small", size=64)
    assert vs.skeCount() == 12
    assert vs.image_size == 64
    assert {cv2.imread(path).shape for path in vs.im} == {(64, 64, 3)}


@pytest.mark.parametrize("budget_frames, readers", [(None, 1), (5, 2), (0, 2)],
                         ids=["all-in-memory", "too-many-for-memory", "no-memory"])
def test_frames_kept_in_memory_or_decoded_again_give_the_same_dataset(squat_video, prepared, tmp_path, monkeypatch,
                                                                     budget_frames, readers):
    """Pass 1 keeps the frames to crop in memory when they fit (one decoding of the video),
    else pass 2 decodes the video again: the dataset is the same either way."""
    if budget_frames is not None:
        monkeypatch.setattr(vs_module, "KEEP_FRAMES_BYTES", budget_frames * 1080 * 1080 * 3)
    opened = []
    real_reader = vs_module.VideoReader
    monkeypatch.setattr(vs_module, "VideoReader", lambda path: opened.append(path) or real_reader(path))
    vs = prepare(squat_video, tmp_path / "again")
    assert len(opened) == readers
    np.testing.assert_array_equal(vs.frame, prepared.frame)
    np.testing.assert_array_equal(vs.landmarks, prepared.landmarks)
    assert snapshot(Path(vs.directory) / "images") == snapshot(Path(prepared.directory) / "images")


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "prefetch"]


# ---------------------------------------------------------------------- reusing a prepared dataset
def test_same_settings_load_without_detecting(squat_video, prepared_copy, monkeypatch):
    def no_detection(*args, **kwargs):
        raise AssertionError("detect_poses called for a dataset already prepared with these settings")

    monkeypatch.setattr(vs_module, "detect_poses", no_detection)
    before = snapshot(prepared_copy)
    vs = prepare(squat_video, prepared_copy)
    assert vs.reused is True
    assert vs.skeCount() == 12
    assert snapshot(prepared_copy) == before


@pytest.mark.parametrize("settings, frames, size", [({"modFrame": 20}, np.arange(0, 114, 20), 128),
                                                    ({"size": 64}, np.arange(0, 114, 10), 64)],
                         ids=["modFrame=20", "size=64"])
def test_different_settings_prepare_again(squat_video, prepared_copy, monkeypatch, settings, frames, size):
    calls = []
    real_detect = vs_module.detect_poses
    monkeypatch.setattr(vs_module, "detect_poses", lambda *a, **k: calls.append(1) or real_detect(*a, **k))
    vs = prepare(squat_video, prepared_copy, **settings)
    assert calls == [1]
    assert vs.reused is False
    np.testing.assert_array_equal(vs.frame, frames)
    assert vs.image_size == size
    # Only the new preparation's images are left in the directory.
    assert sorted(os.listdir(prepared_copy / "images")) == sorted(f"image{n}.jpg" for n in frames)
    assert leftovers(prepared_copy.parent) == []


def test_force_prepares_again_and_keeps_models(squat_video, prepared_copy, monkeypatch):
    (prepared_copy / "models").mkdir()
    (prepared_copy / "models" / "gan_128.pt").write_bytes(b"a trained model")
    calls = []
    real_detect = vs_module.detect_poses
    monkeypatch.setattr(vs_module, "detect_poses", lambda *a, **k: calls.append(1) or real_detect(*a, **k))
    vs = prepare(squat_video, prepared_copy, forceCompute=True)
    assert calls == [1]
    assert vs.reused is False and vs.skeCount() == 12
    assert (prepared_copy / "models" / "gan_128.pt").read_bytes() == b"a trained model"
    assert leftovers(prepared_copy.parent) == []


def test_cli_reuses_then_force_prepares_again(squat_video, prepared_copy, run_cli):
    npz = prepared_copy / "landmarks.npz"
    stamp = os.stat(npz).st_ino, os.stat(npz).st_mtime_ns
    code, out, err = run_cli("VideoSkeleton.py", squat_video, "--out", prepared_copy)
    assert code == 0, err
    assert "already prepared" in out
    assert (os.stat(npz).st_ino, os.stat(npz).st_mtime_ns) == stamp
    code, out, err = run_cli("VideoSkeleton.py", squat_video, "--out", prepared_copy, "--force")
    assert code == 0, err
    assert "already prepared" not in out
    assert "examined 12, kept 12" in out
    assert (os.stat(npz).st_ino, os.stat(npz).st_mtime_ns) != stamp
    assert VideoSkeleton(str(prepared_copy)).skeCount() == 12


# ---------------------------------------------------------------------- a failure half way
class FailingDetector(vs_module.PoseDetector):
    """The real detector, until it fails on its fourth frame."""

    def detect(self, image):
        FailingDetector.calls += 1
        if FailingDetector.calls > 3:
            raise RuntimeError("detector failed half way")
        return super().detect(image)


def test_detection_failing_half_way_keeps_the_previous_dataset(squat_video, prepared_copy, monkeypatch):
    FailingDetector.calls = 0
    monkeypatch.setattr(vs_module, "PoseDetector", FailingDetector)
    before = snapshot(prepared_copy)
    with pytest.raises(RuntimeError, match="half way"):
        prepare(squat_video, prepared_copy, forceCompute=True)
    assert FailingDetector.calls == 4, "the failure came after some frames were detected"
    assert prefetch_threads() == [], "the thread decoding ahead stopped with the failure"
    assert snapshot(prepared_copy) == before
    assert leftovers(prepared_copy.parent) == []
    assert VideoSkeleton(str(prepared_copy)).skeCount() == 12


def test_cropping_failing_half_way_keeps_the_previous_dataset(squat_video, prepared_copy, monkeypatch):
    """Fails while images are being written into the new (partial) directory."""
    real_crop = vs_module.crop_square
    seen = {"calls": 0, "partial": []}

    def failing_crop(*args, **kwargs):
        seen["calls"] += 1
        if seen["calls"] > 5:
            seen["partial"] = [name for name in os.listdir(prepared_copy.parent) if ".partial-" in name]
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C
        return real_crop(*args, **kwargs)

    monkeypatch.setattr(vs_module, "crop_square", failing_crop)
    before = snapshot(prepared_copy)
    with pytest.raises(KeyboardInterrupt):
        prepare(squat_video, prepared_copy, modFrame=5)
    assert len(seen["partial"]) == 1, "the new dataset was being written beside the old one"
    assert snapshot(prepared_copy) == before
    assert leftovers(prepared_copy.parent) == []


def test_decoding_failing_half_way_is_raised_and_keeps_the_previous_dataset(squat_video, prepared_copy,
                                                                            monkeypatch):
    """The frames are decoded ahead in a background thread: its failure reaches the caller."""
    real_skip = vs_module.VideoReader.skipFrames
    calls = []

    def failing_skip(self, n):
        calls.append(n)
        if len(calls) > 3:
            raise OSError("disk read error")
        return real_skip(self, n)

    monkeypatch.setattr(vs_module.VideoReader, "skipFrames", failing_skip)
    before = snapshot(prepared_copy)
    with pytest.raises(OSError, match="disk read error"):
        prepare(squat_video, prepared_copy, forceCompute=True)
    assert prefetch_threads() == []
    assert snapshot(prepared_copy) == before
    assert leftovers(prepared_copy.parent) == []


# ---------------------------------------------------------------------- loading a prepared directory
def test_load_the_course_taichi1_dataset(shared_data):
    vs = VideoSkeleton(str(shared_data / "taichi1"))
    assert vs.skeCount() == 1482
    assert vs.landmarks.shape == (1482, 33, 3)
    assert np.all(np.diff(vs.frame) > 0)
    assert all(os.path.isfile(path) for path in vs.im)
    assert vs.image_size == 128
    for i in range(0, 1482, 150):
        assert vs.readImage(i).shape == (128, 128, 3)
    assert vs.reused is False


def test_load_errors(tmp_path, prepared_copy):
    with pytest.raises(DanceError, match="not a prepared dataset") as err:
        VideoSkeleton(str(tmp_path / "squat" / "images"))
    assert "images" in str(err.value)
    (prepared_copy / "landmarks.npz").write_bytes(b"damaged")
    with pytest.raises(DanceError, match="not a readable landmarks file") as err:
        VideoSkeleton(str(prepared_copy))
    assert "landmarks.npz" in str(err.value)
    with pytest.raises(DanceError, match="no such file"):
        VideoSkeleton(str(tmp_path / "nothing"))


# ---------------------------------------------------------------------- bad input on the command line
def write_noise_video(path, frames=20):
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (320, 240))
    assert writer.isOpened()
    for _ in range(frames):
        writer.write(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))
    writer.release()


def cut_video(source, path, fraction=3):
    """The first 1/fraction of `source`'s bytes, as if a download had stopped."""
    data = Path(source).read_bytes()
    path.write_bytes(data[:len(data) // fraction])


def datasets_under(folder):
    return [str(p) for p in Path(folder).rglob("landmarks.npz")]


def check_one_error(code, err, stderr_lines, *expected):
    assert code != 0
    assert "Traceback" not in err, err
    lines = stderr_lines(err)
    assert len(lines) == 1, f"expected one error line, got: {lines}"
    assert lines[0].startswith("error: "), lines[0]
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    return lines[0]


def make_bad_input(case, tmp_path, squat_video):
    """(video path, extra args, texts the error line must contain) for each bad input."""
    if case == "missing":
        path = tmp_path / "missing.mp4"
        return path, [], [str(path), "no such video file"]
    if case == "text":
        path = tmp_path / "notes.mp4"
        path.write_text("not a video at all\n" * 20)
        return path, [], [str(path), "not a video"]
    if case == "cut_unopenable":
        # physio_squat.mp4 keeps its index (moov atom) at the end of the file: cut, it cannot
        # be opened at all, so this checks the "not a video" error, not the cut-short one.
        path = tmp_path / "squat_cut.mp4"
        cut_video(squat_video, path)
        return path, [], [str(path), "not a video"]
    if case == "no_person":
        path = tmp_path / "noise.mp4"
        write_noise_video(path)
        return path, ["--mod-frame", "1"], [str(path), "no person found", "20 frames examined"]
    if case == "mod_frame_0":
        return squat_video, ["--mod-frame", "0"], ["--mod-frame 0", "must be 1 or more"]
    if case == "negative_size":
        return squat_video, ["--size", "-5"], ["--size -5", "between 16 and"]
    raise ValueError(case)


@pytest.mark.parametrize("case", ["missing", "text", "cut_unopenable", "no_person", "mod_frame_0", "negative_size"])
def test_cli_bad_input(case, tmp_path, squat_video, run_cli, stderr_lines):
    """One error line naming the file (or the option) and the problem, exit code 2, no dataset."""
    video, extra, expected = make_bad_input(case, tmp_path, squat_video)
    out_dir = tmp_path / "out" / "dataset"
    code, out, err = run_cli("VideoSkeleton.py", video, *extra, "--out", out_dir)
    check_one_error(code, err, stderr_lines, *expected)
    assert code == 2
    assert not out_dir.exists()
    assert datasets_under(tmp_path) == []
    assert not (REPO / "data" / video.stem).exists() or video == squat_video, "nothing written under data/"
    if (tmp_path / "out").exists():
        assert os.listdir(tmp_path / "out") == []


def test_cli_cut_short_video_prepares_what_it_can_and_says_so(shared_data, tmp_path, run_cli, stderr_lines):
    """A video cut in the middle whose index is at the front: the module prepares the frames it
    could read, then exits non-zero with one line saying the video is cut short (its design)."""
    source = shared_data / "videos" / "course_karate1.mp4"     # 192 frames, moov atom first
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    video = tmp_path / "karate_cut.mp4"
    cut_video(source, video)
    reader = VideoReader(str(video))
    announced, readable = reader.getTotalFrames(), sum(1 for _ in reader)
    reader.release()
    assert announced == 192 and 0 < readable < announced - 1, "the cut file must open and end early"

    out_dir = tmp_path / "out" / "karate"
    code, out, err = run_cli("VideoSkeleton.py", video, "--out", out_dir)
    line = check_one_error(code, err, stderr_lines, str(video), "cut short", f"only {readable} of its 192 frames",
                           str(out_dir))
    assert code == 2, line
    vs = VideoSkeleton(str(out_dir))
    assert 0 < vs.skeCount() <= len(range(0, readable, 10))
    assert vs.frame.max() < readable
    assert vs.settings["frames_read"] == readable
    assert leftovers(out_dir.parent) == []

"""VideoSkeleton: preparing a video into a dataset, reusing it, loading one, and bad input.

The video is the `clip` fixture: the synthetic sample's target (100 frames, 240x240, the dancer
in every frame); with modFrame=10 the frames 0, 10, ..., 90 are examined: 10 of them.
tests/test_real_footage.py prepares real footage (physio_squat.mp4) the same way.
"""
import os
import shutil
import subprocess
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

import DatasetPreparation as prep_module
from CameraMotion import STILL_SAMPLES
from DanceUtils import DanceError
from Skeleton import REDUCED_INDICES, Skeleton
from VideoReader import VideoReader
from VideoSkeleton import VideoSkeleton

MOD_FRAME = 10


def examined(clip, mod_frame=MOD_FRAME):
    """The frame numbers a preparation with `mod_frame` examines."""
    return np.arange(0, clip.frames, mod_frame)


def prepare(video, out_dir, **kwargs):
    kwargs.setdefault("modFrame", MOD_FRAME)
    return VideoSkeleton(str(video), out_dir=str(out_dir), progress=False, **kwargs)


def leftovers(parent):
    """Entries of `parent` that an unfinished preparation would leave behind."""
    return [name for name in os.listdir(parent) if ".partial-" in name or ".old-" in name]


def snapshot(directory):
    """Every file of a dataset directory with its bytes, to prove it was not touched."""
    directory = Path(directory)
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def prepared(clip, tmp_path_factory):
    """The clip prepared once with modFrame=10, size=128; tests copy it before changing it."""
    out_dir = tmp_path_factory.mktemp("prepared") / "dancer"
    return prepare(clip.path, out_dir)


@pytest.fixture
def prepared_copy(prepared, tmp_path):
    """A private copy of the prepared dataset (its settings still match the video)."""
    copy = tmp_path / "dancer"
    shutil.copytree(prepared.directory, copy)
    return copy


# ---------------------------------------------------------------------- preparing a video
def test_prepare_keeps_every_examined_frame(prepared, clip):
    expected_frames = examined(clip)            # 10 frames examined, a person in each
    count = len(expected_frames)
    assert prepared.skeCount() == count == len(prepared)
    np.testing.assert_array_equal(prepared.frame, expected_frames)
    assert np.all(np.diff(prepared.frame) > 0)
    assert prepared.reused is False
    assert prepared.landmarks.shape == (count, 33, 3) and prepared.landmarks.dtype == np.float32
    assert all(isinstance(ske, Skeleton) for ske in prepared.ske)
    np.testing.assert_array_equal(prepared.ske[3].landmarks, prepared.landmarks[3])
    assert prepared.reduced().shape == (count, 26)
    assert prepared.settings["mod_frame"] == MOD_FRAME and prepared.settings["size"] == 128
    assert prepared.fps == pytest.approx(clip.fps / MOD_FRAME, abs=0.01)


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


def cut_at(frame, box, size=128):
    """The square `box` (x0, y0, side, side) of `frame`, the frame's edge pixels repeated where the box
    passes it, resized to `size`."""
    x0, y0, side, _ = (int(v) for v in box)
    padded = cv2.copyMakeBorder(frame, side, side, side, side, cv2.BORDER_REPLICATE)
    square = padded[y0 + side:y0 + 2 * side, x0 + side:x0 + 2 * side]
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)


def test_prepared_image_is_the_crop_of_its_frame(prepared, clip):
    """im[i] shows video frame frame[i], cut at the crop box stored with it. The dancer fills the
    height of the synthetic frame, so the box passes the frame's edge (the real squat fits in its
    frame: tests/test_real_footage.py)."""
    with np.load(os.path.join(prepared.directory, "landmarks.npz")) as data:
        boxes = data["crop_boxes"]
    count = prepared.skeCount()
    reader = VideoReader(str(clip.path))
    for i in (0, count // 2, count - 1):
        frame = reader.readFrameAt(int(prepared.frame[i]))
        expected = cut_at(frame, boxes[i])
        diff = np.abs(prepared.readImage(i).astype(int) - expected.astype(int)).mean()
        assert diff < 4, f"item {i}: mean difference {diff:.1f} with frame {prepared.frame[i]}'s crop"
        # A different frame of the dance does not match as well.
        other = cut_at(reader.readFrameAt(int(prepared.frame[(i + count // 2) % count])), boxes[i])
        assert np.abs(prepared.readImage(i).astype(int) - other.astype(int)).mean() > diff
    reader.release()


def test_prepare_at_size_64(clip, tmp_path):
    vs = prepare(clip.path, tmp_path / "small", size=64)
    assert vs.skeCount() == len(examined(clip))
    assert vs.image_size == 64
    assert {cv2.imread(path).shape for path in vs.im} == {(64, 64, 3)}


@pytest.mark.parametrize("budget_frames, readers", [(None, 1), (5, 2), (0, 2)],
                         ids=["all-in-memory", "too-many-for-memory", "no-memory"])
def test_frames_kept_in_memory_or_decoded_again_give_the_same_dataset(clip, prepared, tmp_path, monkeypatch,
                                                                     budget_frames, readers):
    """Pass 1 keeps the frames to crop in memory when they fit (one decoding of the video),
    else pass 2 decodes the video again: the dataset is the same either way."""
    if budget_frames is not None:
        monkeypatch.setattr(prep_module, "KEEP_FRAMES_BYTES", budget_frames * clip.width * clip.height * 3)
    opened = []
    real_reader = prep_module.VideoReader

    class CountingReader(real_reader):   # counts the frames each reader decodes
        def __init__(self, path):
            super().__init__(path)
            self.read = 0
            opened.append(self)

        def readFrame(self):
            self.read += 1
            return super().readFrame()

    monkeypatch.setattr(prep_module, "VideoReader", CountingReader)
    vs = prepare(clip.path, tmp_path / "again")
    # Decoding passes; the few frames spread over the video that tell what stands still are no pass.
    assert len([r for r in opened if r.read > STILL_SAMPLES]) == readers
    np.testing.assert_array_equal(vs.frame, prepared.frame)
    np.testing.assert_array_equal(vs.landmarks, prepared.landmarks)
    assert snapshot(Path(vs.directory) / "images") == snapshot(Path(prepared.directory) / "images")


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "prefetch"]


# ---------------------------------------------------------------------- reusing a prepared dataset
def test_same_settings_load_without_detecting(clip, prepared_copy, monkeypatch):
    def no_detection(*args, **kwargs):
        raise AssertionError("detect_poses called for a dataset already prepared with these settings")

    monkeypatch.setattr(prep_module, "detect_poses", no_detection)
    before = snapshot(prepared_copy)
    vs = prepare(clip.path, prepared_copy)
    assert vs.reused is True
    assert vs.skeCount() == len(examined(clip))
    assert snapshot(prepared_copy) == before


@pytest.mark.parametrize("settings, mod_frame, size", [({"modFrame": 20}, 20, 128), ({"size": 64}, MOD_FRAME, 64)],
                         ids=["modFrame=20", "size=64"])
def test_different_settings_prepare_again(clip, prepared_copy, monkeypatch, settings, mod_frame, size):
    frames = examined(clip, mod_frame)
    calls = []
    real_detect = prep_module.detect_poses
    monkeypatch.setattr(prep_module, "detect_poses", lambda *a, **k: calls.append(1) or real_detect(*a, **k))
    vs = prepare(clip.path, prepared_copy, **settings)
    assert calls == [1]
    assert vs.reused is False
    np.testing.assert_array_equal(vs.frame, frames)
    assert vs.image_size == size
    # Only the new preparation's images are left in the directory.
    assert sorted(os.listdir(prepared_copy / "images")) == sorted(f"image{n}.jpg" for n in frames)
    assert leftovers(prepared_copy.parent) == []


def test_force_prepares_again_and_keeps_models(clip, prepared_copy, monkeypatch):
    (prepared_copy / "models").mkdir()
    (prepared_copy / "models" / "gan_128.pt").write_bytes(b"a trained model")
    calls = []
    real_detect = prep_module.detect_poses
    monkeypatch.setattr(prep_module, "detect_poses", lambda *a, **k: calls.append(1) or real_detect(*a, **k))
    vs = prepare(clip.path, prepared_copy, forceCompute=True)
    assert calls == [1]
    assert vs.reused is False and vs.skeCount() == len(examined(clip))
    assert (prepared_copy / "models" / "gan_128.pt").read_bytes() == b"a trained model"
    assert leftovers(prepared_copy.parent) == []


def test_cli_reuses_then_force_prepares_again(clip, prepared_copy, run_cli):
    count = len(examined(clip))
    npz = prepared_copy / "landmarks.npz"
    stamp = os.stat(npz).st_ino, os.stat(npz).st_mtime_ns
    code, out, err = run_cli("VideoSkeleton.py", clip.path, "--out", prepared_copy)
    assert code == 0, err
    assert "already prepared" in out
    assert (os.stat(npz).st_ino, os.stat(npz).st_mtime_ns) == stamp
    code, out, err = run_cli("VideoSkeleton.py", clip.path, "--out", prepared_copy, "--force")
    assert code == 0, err
    assert "already prepared" not in out
    assert f"examined {count}, kept {count}" in out
    assert (os.stat(npz).st_ino, os.stat(npz).st_mtime_ns) != stamp
    assert VideoSkeleton(str(prepared_copy)).skeCount() == count


# ---------------------------------------------------------------------- a failure half way
class FailingDetector(prep_module.PoseDetector):
    """The real detector, until it fails on its fourth frame."""

    def detect(self, image):
        FailingDetector.calls += 1
        if FailingDetector.calls > 3:
            raise RuntimeError("detector failed half way")
        return super().detect(image)


def test_detection_failing_half_way_keeps_the_previous_dataset(clip, prepared_copy, monkeypatch):
    FailingDetector.calls = 0
    monkeypatch.setattr(prep_module, "PoseDetector", FailingDetector)
    before = snapshot(prepared_copy)
    with pytest.raises(RuntimeError, match="half way"):
        prepare(clip.path, prepared_copy, forceCompute=True)
    assert FailingDetector.calls == 4, "the failure came after some frames were detected"
    assert prefetch_threads() == [], "the thread decoding ahead stopped with the failure"
    assert snapshot(prepared_copy) == before
    assert leftovers(prepared_copy.parent) == []
    assert VideoSkeleton(str(prepared_copy)).skeCount() == len(examined(clip))


def test_cropping_failing_half_way_keeps_the_previous_dataset(clip, prepared_copy, monkeypatch):
    """Fails while images are being written into the new (partial) directory."""
    real_crop = prep_module.crop_square
    seen = {"calls": 0, "partial": []}

    def failing_crop(*args, **kwargs):
        seen["calls"] += 1
        if seen["calls"] > 5:
            seen["partial"] = [name for name in os.listdir(prepared_copy.parent) if ".partial-" in name]
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C
        return real_crop(*args, **kwargs)

    monkeypatch.setattr(prep_module, "crop_square", failing_crop)
    before = snapshot(prepared_copy)
    with pytest.raises(KeyboardInterrupt):
        prepare(clip.path, prepared_copy, modFrame=5)
    assert len(seen["partial"]) == 1, "the new dataset was being written beside the old one"
    assert snapshot(prepared_copy) == before
    assert leftovers(prepared_copy.parent) == []


def test_decoding_failing_half_way_is_raised_and_keeps_the_previous_dataset(clip, prepared_copy, monkeypatch):
    """The frames are decoded ahead in a background thread: its failure reaches the caller."""
    real_skip = prep_module.VideoReader.skipFrames
    calls = []

    def failing_skip(self, n):
        calls.append(n)
        if len(calls) > 3:
            raise OSError("disk read error")
        return real_skip(self, n)

    monkeypatch.setattr(prep_module.VideoReader, "skipFrames", failing_skip)
    before = snapshot(prepared_copy)
    with pytest.raises(OSError, match="disk read error"):
        prepare(clip.path, prepared_copy, forceCompute=True)
    assert prefetch_threads() == []
    assert snapshot(prepared_copy) == before
    assert leftovers(prepared_copy.parent) == []


# ---------------------------------------------------------------------- loading a prepared directory
def test_load_a_prepared_dataset(sample_dataset, sample_videos):
    """The sample's target prepared once for the run (every frame, 64 px); the course's taichi1:
    tests/test_real_footage.py."""
    vs = VideoSkeleton(sample_dataset.directory)
    count = vs.skeCount()
    assert count >= 0.9 * sample_videos.frames        # MediaPipe finds the dancer in (nearly) every frame
    assert vs.landmarks.shape == (count, 33, 3)
    assert np.all(np.diff(vs.frame) > 0)
    assert all(os.path.isfile(path) for path in vs.im)
    assert vs.image_size == 64
    for i in range(0, count, 15):
        assert vs.readImage(i).shape == (64, 64, 3)
    assert vs.reused is False


def test_load_errors(tmp_path, prepared_copy):
    with pytest.raises(DanceError, match="not a prepared dataset") as err:
        VideoSkeleton(str(tmp_path / "dancer" / "images"))
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


def index_at_the_end(video):
    """True when the mp4's index (moov atom) comes after its frames (mdat): cut, it cannot be opened."""
    data = Path(video).read_bytes()
    return data.find(b"moov") > data.find(b"mdat") > 0


def datasets_under(folder):
    return [str(p) for p in Path(folder).rglob("landmarks.npz")]


def make_bad_input(case, tmp_path, clip):
    """(video path, extra args, texts the error line must contain) for each bad input."""
    if case == "missing":
        path = tmp_path / "missing.mp4"
        return path, [], [str(path), "no such video file"]
    if case == "text":
        path = tmp_path / "notes.mp4"
        path.write_text("not a video at all\n" * 20)
        return path, [], [str(path), "not a video"]
    if case == "cut_unopenable":
        # OpenCV writes the clip's index (moov atom) at the end of the file: cut, it cannot be
        # opened at all, so this checks the "not a video" error, not the cut-short one.
        assert index_at_the_end(clip.path)
        path = tmp_path / "clip_cut.mp4"
        cut_video(clip.path, path)
        return path, [], [str(path), "not a video"]
    if case == "no_person":
        path = tmp_path / "noise.mp4"
        write_noise_video(path)
        return path, ["--mod-frame", "1"], [str(path), "no person found", "20 frames examined"]
    if case == "mod_frame_0":
        return clip.path, ["--mod-frame", "0"], ["--mod-frame 0", "must be 1 or more"]
    if case == "negative_size":
        return clip.path, ["--size", "-5"], ["--size -5", "between 16 and"]
    raise ValueError(case)


@pytest.mark.parametrize("case", ["missing", "text", "cut_unopenable", "no_person", "mod_frame_0", "negative_size"])
def test_cli_bad_input(case, tmp_path, clip, run_cli, one_error, dance_data):
    """One error line naming the file (or the option) and the problem, exit code 2, no dataset."""
    video, extra, expected = make_bad_input(case, tmp_path, clip)
    out_dir = tmp_path / "out" / "dataset"
    code, out, err = run_cli("VideoSkeleton.py", video, *extra, "--out", out_dir)
    one_error(code, err, *expected)
    assert code == 2
    assert not out_dir.exists()
    assert datasets_under(tmp_path) == []
    assert not (dance_data / video.stem).exists(), "nothing written in the project's data folder"
    if (tmp_path / "out").exists():
        assert os.listdir(tmp_path / "out") == []


def index_first_copy(video, path):
    """`video` rewritten (not re-encoded) with its index at the front, as a download-friendly mp4 is,
    by the ffmpeg that imageio-ffmpeg (a requirement) ships."""
    import imageio_ffmpeg
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(video), "-c", "copy",
                    "-movflags", "+faststart", str(path)], check=True, capture_output=True, timeout=60)
    assert not index_at_the_end(path)
    return path


def test_cli_cut_short_video_prepares_what_it_can_and_says_so(clip, tmp_path, run_cli, one_error):
    """A video cut in the middle whose index is at the front: the module prepares the frames it
    could read, then exits non-zero with one line saying the video is cut short (its design).
    tests/test_real_footage.py does the same with a real video (course_karate1.mp4)."""
    video = tmp_path / "clip_cut.mp4"
    cut_video(index_first_copy(clip.path, tmp_path / "clip_index_first.mp4"), video)
    reader = VideoReader(str(video))
    announced, readable = reader.getTotalFrames(), sum(1 for _ in reader)
    reader.release()
    assert announced == clip.frames and 0 < readable < announced - 1, "the cut file must open and end early"

    out_dir = tmp_path / "out" / "dancer"
    code, out, err = run_cli("VideoSkeleton.py", video, "--out", out_dir)
    line = one_error(code, err, str(video), "cut short", f"only {readable} of its {clip.frames} frames",
                     str(out_dir))
    assert code == 2, line
    vs = VideoSkeleton(str(out_dir))
    assert 0 < vs.skeCount() <= len(range(0, readable, 10))
    assert vs.frame.max() < readable
    assert vs.settings["frames_read"] == readable
    assert leftovers(out_dir.parent) == []

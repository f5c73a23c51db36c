"""The real-footage layer: what the synthetic tests check, once more on real people.

Every behaviour is tested on the project's synthetic sample elsewhere; here the same checks run
on the course's footage in ../shared/data, where a real camera, codec and person matter: H.264
seeks, MediaPipe on a real body, crops of a real frame, an mp4 cut short, a large real dataset.
It is one test, whose checks are reported apart as subtests, so that a fresh clone without the
footage (or a run with DANCE_TEST_NO_SHARED=1) reports one skip, with its reason, for the layer.
"""
import os
import shutil

import cv2
import numpy as np
import pytest

from GenNearest import TEMPORAL_WEIGHT, GenNearest, NearestIndex
from Skeleton import REDUCED_INDICES, Skeleton
from VideoReader import VideoReader
from VideoSkeleton import VideoSkeleton


# ---------------------------------------------------------------------- the real videos
def check_reading_and_seeking(clip):
    """Every frame read in order; readFrameAt (H.264: keyframes and B-frames) gives the same frames."""
    n = clip.frames
    sampled = (n - 1, 0, n // 2, 1, n - 14, n // 2 + 1, n // 3)     # out of order: backwards and forwards
    with VideoReader(str(clip.path)) as reader:
        assert reader.getTotalFrames() == n == len(reader)
        assert reader.fps == pytest.approx(clip.fps, abs=0.01)
        assert (reader.width, reader.height) == (clip.width, clip.height)
        kept, count = {}, 0
        for index, frame in enumerate(reader):
            assert frame.shape == (clip.height, clip.width, 3), index
            if index in sampled:
                kept[index] = frame.copy()
            count += 1
    assert count == n
    assert not np.array_equal(kept[0], kept[n // 2])
    reader = VideoReader(str(clip.path))
    for index in sampled:
        assert np.array_equal(reader.readFrameAt(index), kept[index]), f"readFrameAt({index}) differs"
        assert reader.position == index + 1
    assert reader.readFrameAt(n) is None
    reader.release()


def check_detection(clip, index):
    """MediaPipe finds a standing person of some size in a real frame."""
    reader = VideoReader(str(clip.path))
    frame = reader.readFrameAt(index)
    reader.release()
    ske = Skeleton()
    assert ske.fromImage(frame) is True
    xy = ske.landmarks[:, :2]
    assert xy.min() >= 0 and xy.max() <= 1, xy
    nose_y, hips_y, ankles_y = xy[0, 1], xy[[23, 24], 1].mean(), xy[[27, 28], 1].mean()
    assert nose_y < hips_y < ankles_y
    x0, y0, x1, y1 = ske.boundingBox()
    assert y1 - y0 > 0.1


def check_preparation(clip, out_dir):
    """modFrame=10 keeps every examined frame; each crop lies inside the frame and shows its frame."""
    vs = VideoSkeleton(str(clip.path), modFrame=10, out_dir=str(out_dir), progress=False)
    expected = np.arange(0, clip.frames, 10)
    np.testing.assert_array_equal(vs.frame, expected)                  # a person in every examined frame
    assert vs.landmarks.shape == (len(expected), 33, 3) and vs.image_size == 128
    assert vs.fps == pytest.approx(clip.fps / 10, abs=0.01)
    main_joints = vs.landmarks[:, REDUCED_INDICES, :2]
    assert main_joints.min() >= 0 and main_joints.max() <= 1
    xy = vs.landmarks[:, :, :2]
    np.testing.assert_allclose((xy.min(axis=1) + xy.max(axis=1)) / 2, 0.5, atol=0.01)   # centred crops
    with np.load(os.path.join(vs.directory, "landmarks.npz")) as data:
        boxes = data["crop_boxes"]
    count = len(expected)
    reader = VideoReader(str(clip.path))
    for i in (0, count // 2, count - 1):
        x0, y0, side, _ = (int(v) for v in boxes[i])
        assert 0 <= x0 and 0 <= y0 and x0 + side <= clip.width and y0 + side <= clip.height, "fits in the frame"
        frame = reader.readFrameAt(int(vs.frame[i]))
        crop = cv2.resize(frame[y0:y0 + side, x0:x0 + side], (128, 128), interpolation=cv2.INTER_AREA)
        diff = np.abs(vs.readImage(i).astype(int) - crop.astype(int)).mean()
        assert diff < 4, f"item {i}: mean difference {diff:.1f} with its frame's crop"
        other = reader.readFrameAt(int(vs.frame[(i + count // 2) % count]))
        other = cv2.resize(other[y0:y0 + side, x0:x0 + side], (128, 128), interpolation=cv2.INTER_AREA)
        assert np.abs(vs.readImage(i).astype(int) - other.astype(int)).mean() > diff
    reader.release()


def check_cut_short(video, tmp_path, run_cli, one_error):
    """A real mp4 whose index is at the front, cut in the middle: the frames it could read are
    prepared, then one line says the video is cut short (exit code 2)."""
    cut = tmp_path / "karate_cut.mp4"
    data = video.read_bytes()
    cut.write_bytes(data[:len(data) // 3])
    reader = VideoReader(str(cut))
    announced, readable = reader.getTotalFrames(), sum(1 for _ in reader)
    reader.release()
    assert announced == 192 and 0 < readable < announced - 1, "the cut file must open and end early"
    out_dir = tmp_path / "out" / "karate"
    code, out, err = run_cli("VideoSkeleton.py", cut, "--out", out_dir)
    line = one_error(code, err, str(cut), "cut short", f"only {readable} of its 192 frames", str(out_dir))
    assert code == 2, line
    vs = VideoSkeleton(str(out_dir))
    assert 0 < vs.skeCount() <= len(range(0, readable, 10))
    assert vs.frame.max() < readable and vs.settings["frames_read"] == readable


# ---------------------------------------------------------------------- the course's taichi1 dataset
def mean_jump(gen, sequence):
    gen.reset()
    return np.abs(np.diff([gen.nearest_index(ske) for ske in sequence])).mean()


class BlackGenerator:
    """A generator that has learnt nothing: every answer is a black image."""

    def generate(self, ske):
        return np.zeros((128, 128, 3), np.uint8)


def check_taichi1_loads(taichi1):
    """The course's prepared dataset: 1482 crops of 128 px in time order."""
    vs = VideoSkeleton(str(taichi1))
    assert vs.skeCount() == 1482 and vs.landmarks.shape == (1482, 33, 3)
    assert np.all(np.diff(vs.frame) > 0)
    assert all(os.path.isfile(path) for path in vs.im)
    assert vs.image_size == 128 and vs.reused is False
    for i in range(0, 1482, 150):
        assert vs.readImage(i).shape == (128, 128, 3)


def check_nearest_on_real_poses(taichi1):
    """Each frame finds itself; brute force and the k-d tree agree; continuity halves the jumps."""
    vs = VideoSkeleton(str(taichi1))
    gen = GenNearest(vs)
    for i in range(0, vs.skeCount(), 97):
        assert np.array_equal(gen.generate(vs.ske[i]), vs.readImage(i))
    rng = np.random.default_rng(10)
    reduced = vs.reduced()
    queries = reduced[rng.integers(len(reduced), size=300)] + rng.normal(0, 0.02, (300, 26))
    expected = np.array([np.argmin(np.linalg.norm(reduced.astype(np.float64) - q, axis=1)) for q in queries])
    assert gen.index.method == "brute"
    assert np.array_equal(gen.index.nearest_many(queries), expected)
    assert np.array_equal(NearestIndex(reduced, method="tree").nearest_many(queries), expected)
    rng = np.random.default_rng(11)
    sequence = [Skeleton.from_reduced(reduced[400 + k] + rng.normal(0, 0.02, 26)) for k in range(150)]
    smooth = GenNearest(vs, temporal_weight=TEMPORAL_WEIGHT, preload=False)   # the search needs no images
    assert mean_jump(smooth, sequence) < mean_jump(gen, sequence) / 2


def check_evaluation_of_real_crops(taichi1, tmp_path):
    """DanceEval on 100 consecutive real crops: MediaPipe agrees with itself on them; a black image
    scores worse than nearest."""
    import DanceEval
    small = tmp_path / "taichi_small"
    (small / "images").mkdir(parents=True)
    with np.load(taichi1 / "landmarks.npz", allow_pickle=False) as data:
        keep = np.arange(400, 500)
        arrays = {k: data[k][keep] for k in ("landmarks", "image", "frame")}
    for name in arrays["image"]:
        shutil.copy(taichi1 / "images" / str(name), small / "images" / str(name))
    np.savez(small / "landmarks.npz", **arrays)
    report = DanceEval.evaluate(str(small), str(tmp_path / "eval"), gens=["nearest"], quick=True, progress=False,
                                extra={"black": BlackGenerator()})
    real = report["real"]
    assert real["detect_rate"] >= 0.8
    assert real["pose_error"] < 0.2   # a fifth of the torso
    nearest, black = report["generators"]["nearest"], report["generators"]["black"]
    assert black["ssim"] < nearest["ssim"] and black["psnr"] < nearest["psnr"]
    assert black["detect_rate"] < nearest["detect_rate"]
    assert black["pose_error"] is None or black["pose_error"] > nearest["pose_error"]


# ---------------------------------------------------------------------- the layer
def test_the_real_footage(squat_video, karate_video, taichi1, tmp_path, run_cli, one_error, subtests):
    """physio_squat.mp4 (114 frames, 1080x1080, 29.97 fps), course_karate1.mp4 (192 frames, its index
    at the front) and the taichi1 dataset, each check a subtest of its own."""
    with subtests.test("physio_squat.mp4: reading and seeking"):
        check_reading_and_seeking(squat_video)
    with subtests.test("physio_squat.mp4: MediaPipe finds the person"):
        check_detection(squat_video, 50)
    with subtests.test("physio_squat.mp4: preparation"):
        check_preparation(squat_video, tmp_path / "squat")
    with subtests.test("course_karate1.mp4 cut short"):
        check_cut_short(karate_video, tmp_path, run_cli, one_error)
    with subtests.test("taichi1 loads"):
        check_taichi1_loads(taichi1)
    with subtests.test("taichi1: nearest neighbour on real poses"):
        check_nearest_on_real_poses(taichi1)
    with subtests.test("taichi1: DanceEval on real crops"):
        check_evaluation_of_real_crops(taichi1, tmp_path)

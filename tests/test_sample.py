"""The synthetic demo dancer: files written, poses sane, and MediaPipe sees it.

The videos are the run's sample (`sample_videos`, conftest.py: 4 s at 25 fps, 240 x 240), which
the rest of the suite prepares, trains on and plays.
"""
import os

import cv2
import numpy as np
import pytest

import DanceSample
from DanceSample import SOURCE_LOOK, TARGET_LOOK, dance_pose, make_sample, render_dancer

MAIN_JOINTS = [0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
L_WRIST, R_WRIST = 15, 16


@pytest.fixture(scope="module")
def sample(sample_videos):
    return sample_videos.paths


def test_writes_videos_and_truth(sample, sample_videos, read_frames):
    frames, width, height = sample_videos.frames, sample_videos.width, sample_videos.height
    assert set(sample) == {"target_video", "target_truth", "source_video", "source_truth"}
    folder = os.path.dirname(sample["target_video"])
    # Atomic writes leave no temporary file behind.
    assert sorted(os.listdir(folder)) == sorted(os.path.basename(p) for p in sample.values())
    for who in ("target", "source"):
        cap = cv2.VideoCapture(sample[who + "_video"])
        assert cap.isOpened()
        assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == width
        assert int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == height
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == frames
        assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(sample_videos.fps)
        cap.release()
        images = read_frames(sample[who + "_video"])
        assert len(images) == frames and images[0].shape == (height, width, 3)

        with np.load(sample[who + "_truth"], allow_pickle=False) as truth:
            landmarks, frame = truth["landmarks"], truth["frame"]
        assert landmarks.shape == (frames, 33, 3) and landmarks.dtype == np.float32
        assert np.array_equal(frame, np.arange(frames))
        xy = landmarks[..., :2]
        assert (xy > 0).all() and (xy < 1).all()


def test_existing_files_are_kept_unless_forced(tmp_path):
    paths = make_sample(str(tmp_path), seconds=0.2)
    stamp = os.path.getmtime(paths["target_video"])
    os.utime(paths["target_video"], (stamp - 100, stamp - 100))
    make_sample(str(tmp_path), seconds=0.2)
    assert os.path.getmtime(paths["target_video"]) == stamp - 100
    make_sample(str(tmp_path), seconds=0.2, force=True)
    assert os.path.getmtime(paths["target_video"]) > stamp - 100


@pytest.mark.parametrize("who", ["target", "source"])
def test_mediapipe_finds_the_dancer(sample, who, read_frames):
    import mediapipe as mp     # a requirement: a missing MediaPipe fails here, it does not skip
    frames = read_frames(sample[who + "_video"])
    with np.load(sample[who + "_truth"], allow_pickle=False) as truth:
        known = truth["landmarks"]
    picked = np.linspace(0, len(frames) - 1, 10).astype(int)
    found, errors = {}, []
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        for i in picked:
            res = pose.process(cv2.cvtColor(frames[i], cv2.COLOR_BGR2RGB))
            if res.pose_landmarks is not None:
                found[i] = np.array([(p.x, p.y) for p in res.pose_landmarks.landmark])
                errors.append(np.linalg.norm(found[i][MAIN_JOINTS] - known[i, MAIN_JOINTS, :2], axis=1).mean())
    assert len(found) >= 9, f"MediaPipe found the {who} dancer in only {len(found)} of 10 frames"
    assert np.mean(errors) < 0.05, f"mean joint error {np.mean(errors):.3f}"

    # Left and right are not swapped: on the frame where the wrists are furthest
    # apart, the detected left wrist is nearest the true left wrist.
    i = max(found, key=lambda f: np.linalg.norm(known[f, L_WRIST, :2] - known[f, R_WRIST, :2]))
    det = found[i][L_WRIST]
    assert np.linalg.norm(det - known[i, L_WRIST, :2]) < np.linalg.norm(det - known[i, R_WRIST, :2])


def test_dance_pose_styles_differ_and_stay_in_frame():
    times = np.arange(0.0, 30.0, 0.1)
    poses = {style: np.stack([dance_pose(t, style) for t in times]) for style in (0, 1)}
    for p in poses.values():
        assert p.shape == (len(times), 33, 3) and p.dtype == np.float32
        assert (p[..., :2] > 0.02).all() and (p[..., :2] < 0.98).all()
        assert (p[:, 11, 0] > p[:, 12, 0]).all()     # facing the camera: left shoulder on the image right
        assert np.ptp(p[:, L_WRIST, :2], axis=0).min() > 0.1   # the arms really move
    assert np.abs(poses[0] - poses[1]).mean() > 0.02
    with pytest.raises(ValueError):
        dance_pose(0.0, style=7)


def test_render_dancer_any_frame_size():
    for w, h, look in ((320, 240, TARGET_LOOK), (240, 320, SOURCE_LOOK)):
        img = render_dancer(dance_pose(1.0, 0, aspect=w / h), w, h, look)
        assert img.shape == (h, w, 3) and img.dtype == np.uint8
        assert img.std() > 10    # a figure over a background, not a blank image


def test_cli_prints_one_summary_line(tmp_path, run_cli, one_error):
    code, out, err = run_cli("DanceSample.py", "--out", tmp_path, "--seconds", "0.2", timeout=120)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1 and "5 frames" in lines[0]
    assert (tmp_path / "sample_source_truth.npz").exists()
    code, out, err = run_cli("DanceSample.py", "--out", tmp_path, "--seconds", "0", timeout=120)
    assert code == 2
    one_error(code, err, "seconds")
    assert DanceSample.__doc__ and "MediaPipe" in DanceSample.__doc__

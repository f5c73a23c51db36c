"""DanceDemo: pose normalisation, smoothing, the built-in sample, the headless video, a real window, bad input."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import REPO, visible_stderr_lines
from Skeleton import reduced_joints
from SkeletonSequence import OneEuroFilter, PoseNormalizer, body_anchor, body_height, jitter, smooth_sequence

STANDING = np.array([  # a standing pose, reduced 13 joints (x, y), in crop fractions
    [0.50, 0.20], [0.58, 0.30], [0.42, 0.30], [0.62, 0.42], [0.38, 0.42], [0.63, 0.52], [0.37, 0.52],
    [0.55, 0.55], [0.45, 0.55], [0.56, 0.70], [0.44, 0.70], [0.56, 0.85], [0.44, 0.85]], np.float32)


def sequence_of(reduced_frames):
    """(N, 13, 2) reduced joints -> (N, 33, 3) landmarks (the other landmarks stay 0)."""
    from Skeleton import REDUCED_INDICES
    out = np.zeros((len(reduced_frames), 33, 3), np.float32)
    out[:, REDUCED_INDICES, :2] = reduced_frames
    return out


def moving_sequence(n=60, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None, None]
    frames = STANDING[None] + 0.03 * np.sin(t / 6.0 + np.arange(13)[None, :, None])
    return frames + rng.normal(0, 0.002, frames.shape).astype(np.float32)


# ---------------------------------------------------------------------- normalisation
def test_normalisation_maps_a_tall_shifted_source_onto_the_target():
    target = sequence_of(moving_sequence(seed=1))
    source_reduced = (moving_sequence(seed=2) - 0.5) * 2.0 + [0.9, -0.3]  # twice as tall, shifted
    source = sequence_of(source_reduced)
    normalised = PoseNormalizer(source, target)(source)
    rt, rn = reduced_joints(target), reduced_joints(normalised)
    assert np.median(body_height(rn)) == pytest.approx(np.median(body_height(rt)), rel=0.01)
    assert np.allclose(np.median(body_anchor(rn), axis=0), np.median(body_anchor(rt), axis=0), atol=0.005)
    # A pose keeps its shape: only scale and translation are applied.
    assert np.allclose(body_height(rn), body_height(reduced_joints(source)) * 0.5, rtol=0.02)


# ---------------------------------------------------------------------- smoothing
def test_centred_smoothing_reduces_jitter_and_keeps_a_still_pose_still():
    rng = np.random.default_rng(0)
    clean = sequence_of(moving_sequence(120) * 0 + STANDING + 0.05 * np.sin(np.arange(120) / 10.0)[:, None, None])
    noisy = clean + sequence_of(rng.normal(0, 0.005, (120, 13, 2)).astype(np.float32))
    smoothed = smooth_sequence(noisy, sigma=1.5)
    assert jitter(smoothed) < 0.5 * jitter(noisy)
    inner = slice(5, -5)
    assert np.abs(smoothed - clean)[inner].mean() < np.abs(noisy - clean)[inner].mean()
    still = sequence_of(np.repeat(STANDING[None], 30, axis=0))
    assert np.allclose(smooth_sequence(still), still, atol=1e-6)


def test_smoothing_leaves_frames_without_a_person_alone():
    seq = sequence_of(moving_sequence(20))
    found = np.ones(20, bool)
    found[8:11] = False
    seq[8:11] = 0  # nothing detected there
    smoothed = smooth_sequence(seq, found)
    assert np.all(smoothed[8:11] == 0)
    assert np.all(reduced_joints(smoothed[7]) != 0)  # neighbours are not dragged towards the missing zeros
    assert np.abs(smoothed[7] - seq[7]).max() < 0.02


def test_one_euro_filter_reduces_jitter_and_keeps_a_still_pose_still():
    rng = np.random.default_rng(3)
    noisy = sequence_of(moving_sequence(100) + rng.normal(0, 0.004, (100, 13, 2)).astype(np.float32))
    f = OneEuroFilter()
    filtered = np.array([f(x, 1 / 25) for x in noisy])
    assert jitter(filtered) < 0.5 * jitter(noisy)
    f = OneEuroFilter()
    still = sequence_of(np.repeat(STANDING[None], 10, axis=0))
    assert np.allclose([f(x, 1 / 25) for x in still], still)


# ---------------------------------------------------------------------- the sample and the demo
@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The built-in synthetic sample (short) and its target prepared with VideoSkeleton."""
    import DanceSample
    from VideoSkeleton import VideoSkeleton
    folder = tmp_path_factory.mktemp("sample")
    paths = DanceSample.make_sample(str(folder / "videos"), seconds=2.0)
    target = VideoSkeleton(paths["target_video"], modFrame=1, out_dir=str(folder / "sample_target"), progress=False)
    return {"folder": folder, "source": paths["source_video"], "target": target}


def test_the_sample_target_is_a_dataset_videoskeleton_loads(sample):
    from VideoSkeleton import VideoSkeleton
    loaded = VideoSkeleton(sample["target"].directory)
    reader = cv2.VideoCapture(sample["source"])
    frames = int(reader.get(cv2.CAP_PROP_FRAME_COUNT))
    reader.release()
    # MediaPipe finds the synthetic dancer in (nearly) every frame.
    assert loaded.skeCount() >= 0.9 * frames
    assert loaded.readImage(0).shape == (128, 128, 3)


def run_demo(cwd, *args, display=None, timeout=240):
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    if display:
        env["DISPLAY"] = display
    return subprocess.run([sys.executable, str(REPO / "DanceDemo.py"), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_without_a_display_the_demo_writes_a_video_of_every_source_frame(sample, tmp_path):
    proc = run_demo(tmp_path, "--source", sample["source"], "--target", sample["target"].directory)
    assert proc.returncode == 0, proc.stderr
    assert "no display" in proc.stdout
    out = Path(os.environ["DANCE_DATA"]) / "demo_sample_source_sample_target_nearest.mp4"
    assert out.is_file()
    written, source = cv2.VideoCapture(str(out)), cv2.VideoCapture(sample["source"])
    count = 0
    while written.read()[0]:
        count += 1
    assert count == int(source.get(cv2.CAP_PROP_FRAME_COUNT))
    # The source skeletons were cached (no pickle) and are reused on the next run.
    from DanceDemo import source_cache_path
    cache = Path(source_cache_path(sample["source"]))
    assert cache.is_file() and cache.parent == Path(os.environ["DANCE_DATA"]) / "cache"
    np.load(cache, allow_pickle=False)["landmarks"]


@pytest.mark.skipif(shutil.which("xvfb-run") is None or shutil.which("xdotool") is None,
                    reason="needs xvfb-run and xdotool (apt-get install xvfb xdotool)")
def test_a_real_window_opens_switches_generator_and_quits_on_q(sample, tmp_path):
    display = ":97"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1600x900x24"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        demo = subprocess.Popen([sys.executable, str(REPO / "DanceDemo.py"), "--source", sample["source"],
                                 "--target", sample["target"].directory], cwd=tmp_path,
                                env=dict(os.environ, DISPLAY=display), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        env = dict(os.environ, DISPLAY=display)
        window = ""
        deadline = time.time() + 120
        while not window and time.time() < deadline and demo.poll() is None:
            time.sleep(0.5)
            found = subprocess.run(["xdotool", "search", "--name", "DanceDemo"], env=env, capture_output=True, text=True)
            window = found.stdout.split()[-1] if found.stdout.split() else ""
        assert window, f"no window appeared: {demo.communicate(timeout=5) if demo.poll() is not None else ''}"
        time.sleep(1.0)
        for key in ("2", "q"):
            subprocess.run(["xdotool", "windowfocus", "--sync", window], env=env, capture_output=True)
            subprocess.run(["xdotool", "key", "--window", window, key], env=env, capture_output=True)
            subprocess.run(["xdotool", "key", key], env=env, capture_output=True)
            time.sleep(1.0)
        try:
            demo.wait(timeout=20)
        except subprocess.TimeoutExpired:
            demo.kill()
            pytest.fail("the demo did not quit on q")
        out, err = demo.communicate()
        assert demo.returncode == 0, err
    finally:
        xvfb.terminate()


# ---------------------------------------------------------------------- bad input
def assert_one_clear_error(proc, *words):
    assert proc.returncode != 0
    lines = visible_stderr_lines(proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0], lines[0]


def test_missing_source(sample, tmp_path):
    proc = run_demo(tmp_path, "--source", tmp_path / "nope.mp4", "--target", sample["target"].directory)
    assert_one_clear_error(proc, "nope.mp4")


def test_missing_target(sample, tmp_path):
    proc = run_demo(tmp_path, "--source", sample["source"], "--target", tmp_path / "no_target")
    assert_one_clear_error(proc, "no_target")


def test_target_that_is_not_a_prepared_dataset(sample, tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_demo(tmp_path, "--source", sample["source"], "--target", tmp_path / "empty")
    assert_one_clear_error(proc, "empty", "not a prepared dataset")


def test_missing_and_truncated_model_files(sample, tmp_path):
    target = tmp_path / "target"
    shutil.copytree(sample["target"].directory, target)
    proc = run_demo(tmp_path, "--source", sample["source"], "--target", target, "--gen", "gan")
    assert_one_clear_error(proc, "gan_128.pt")
    (target / "models").mkdir(exist_ok=True)
    (target / "models" / "gan_128.pt").write_bytes(b"PK\x03\x04 not really a model")
    proc = run_demo(tmp_path, "--source", sample["source"], "--target", target, "--gen", "gan")
    assert_one_clear_error(proc, "gan_128.pt")


def test_camera_that_cannot_be_opened(sample, tmp_path):
    proc = run_demo(tmp_path, "--source", "57", "--target", sample["target"].directory)
    assert_one_clear_error(proc, "57", "camera")


def test_output_in_a_missing_folder(sample, tmp_path):
    proc = run_demo(tmp_path, "--source", sample["source"], "--target", sample["target"].directory,
                    "--output", tmp_path / "missing" / "out.mp4")
    assert_one_clear_error(proc, "out.mp4", "does not exist")

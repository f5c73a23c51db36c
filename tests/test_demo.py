"""DanceDemo: pose normalisation, smoothing, the built-in sample, the headless video, a real window, bad input."""
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from DanceDemo import message_panel, put_text, source_cache_path
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
DEMO = Path(__file__).resolve().parents[1] / "DanceDemo.py"
NAMES = ("nearest", "vanilla_ske", "vanilla_image", "gan")   # the generators, keys 1-4 in the window


@pytest.fixture(scope="module")
def sample(sample_videos, sample_dataset):
    """The run's synthetic sample: its source video and its target prepared (every frame, 64 px)."""
    return {"source": str(sample_videos.source), "frames": sample_videos.frames, "target": sample_dataset}


def test_the_sample_target_is_a_dataset_videoskeleton_loads(sample):
    from VideoSkeleton import VideoSkeleton
    loaded = VideoSkeleton(sample["target"].directory)
    # MediaPipe finds the synthetic dancer in (nearly) every frame.
    assert loaded.skeCount() >= 0.9 * sample["frames"]
    assert loaded.readImage(0).shape == (64, 64, 3)


def test_without_a_display_the_demo_writes_a_video_of_every_source_frame(sample, tmp_path, run_demo, dance_data,
                                                                         count_frames):
    cache = Path(source_cache_path(sample["source"]))
    cached_before = cache.exists()
    proc = run_demo(tmp_path, "--source", sample["source"], "--target", sample["target"].directory)
    assert proc.returncode == 0, proc.stderr
    assert "no display" in proc.stdout
    out = dance_data / "demo_sample_source_sample_target_nearest.mp4"
    assert out.is_file()
    assert count_frames(out) == sample["frames"]
    # The source skeletons were detected once and cached (no pickle) in the project's data folder...
    assert cached_before or "skeletons of" in proc.stdout
    assert cache.is_file() and cache.parent == dance_data / "cache"
    with np.load(cache, allow_pickle=False) as data:
        landmarks, found = data["landmarks"], data["found"]
    assert landmarks.shape == (sample["frames"], 33, 3) and found.shape == (sample["frames"],)
    assert found.mean() >= 0.9 and np.all(landmarks[found, :, :2] != 0)
    # ... and the next run reuses them: no detection, the cache untouched.
    stamp = cache.stat().st_mtime_ns
    again = run_demo(tmp_path, "--source", sample["source"], "--target", sample["target"].directory,
                     "--out", tmp_path / "again.mp4")
    assert again.returncode == 0, again.stderr
    assert "skeletons of" not in again.stdout and "detecting" not in again.stderr
    assert cache.stat().st_mtime_ns == stamp
    assert count_frames(tmp_path / "again.mp4") == sample["frames"]


@pytest.fixture
def x_display():
    """A virtual X display of its own (Xvfb on a free display number): ':N'."""
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("needs Xvfb and xdotool (apt-get install xvfb xauth xdotool)")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x900x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    number = b""
    deadline = time.time() + 30
    while not number.endswith(b"\n") and time.time() < deadline:
        if select.select([read], [], [], 1.0)[0]:
            chunk = os.read(read, 16)
            if not chunk:
                break
            number += chunk
    os.close(read)
    if not number.strip():
        server.kill()
        pytest.fail("Xvfb did not start")
    try:
        yield ":" + number.decode().strip()
    finally:
        server.terminate()
        server.wait(timeout=10)


def label_of(frame):
    """The generator named in the panels' label (top left): the name whose drawing, over the label's
    band, changes it least (drawing the text already there changes only anti-aliased edges)."""
    band = frame[:40]

    def change(name):
        drawn = band.copy()
        put_text(drawn, name, 24)
        return np.abs(drawn.astype(int) - band.astype(int)).mean()

    return min(NAMES, key=change)


def test_a_real_window_switches_generator_on_its_key_and_quits_on_q(sample, x_display, tmp_path, dance_data):
    """Key s saves the window's panels: once with nearest, then after key 2 (vanilla_ske, not trained
    for this target); the label and the generated panel follow the switch; q quits."""
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env["DISPLAY"] = x_display
    snapshots = dance_data / "snapshots"
    with open(tmp_path / "stdout.txt", "w") as stdout, open(tmp_path / "stderr.txt", "w") as stderr:
        demo = subprocess.Popen([sys.executable, str(DEMO), "--source", sample["source"],
                                 "--target", sample["target"].directory], cwd=tmp_path, env=env,
                                stdout=stdout, stderr=stderr)
    try:
        def output():
            return (tmp_path / "stdout.txt").read_text() + (tmp_path / "stderr.txt").read_text()[-3000:]

        def xdotool(*args):
            return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=30)

        window, deadline = "", time.time() + 120
        while not window and time.time() < deadline and demo.poll() is None:
            time.sleep(0.5)
            found = xdotool("search", "--name", "DanceDemo").stdout.split()
            window = found[-1] if found else ""
        assert window, f"no window appeared: {output()}"
        time.sleep(1.0)

        def press(key):
            xdotool("windowfocus", "--sync", window)
            xdotool("key", key)

        def saved():   # not the hidden temporary file of an atomic write still in progress
            return {p for p in snapshots.glob("*.png") if not p.name.startswith(".")}

        def snapshot():
            """Press s and wait for the new PNG (its name counts seconds: one second apart at least)."""
            time.sleep(1.1)
            known = saved()
            press("s")
            deadline = time.time() + 60
            while time.time() < deadline and demo.poll() is None:
                new = saved() - known
                if new:
                    image = cv2.imread(str(new.pop()))   # written atomically: complete once there
                    assert image is not None
                    return image
                time.sleep(0.2)
            pytest.fail(f"no snapshot was saved: {output()}")

        before = snapshot()
        press("2")
        after = snapshot()
        press("q")
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("the demo did not quit on q")
        assert demo.returncode == 0, output()
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert (tmp_path / "stdout.txt").read_text().count("saved ") == 2

    # The generated panel is the last one, as tall as the window and square (the sample's frames are).
    assert before.shape == after.shape
    side = before.shape[0]
    blank = message_panel("", side)             # the panel shown where a generator cannot be made

    def message_share(frame):
        return np.all(frame[:, -side:] == blank, axis=2).mean()

    # Before: nearest, whose panel is an image of the target.
    assert label_of(before) == "nearest"
    assert message_share(before) < 0.1
    # After key 2: vanilla_ske, which has no model for this target: its message instead of an image.
    assert label_of(after) == "vanilla_ske"
    assert 0.8 < message_share(after) < 1.0      # the panel's colour, with a line of text


# ---------------------------------------------------------------------- bad input
def test_missing_source(sample, tmp_path, run_demo, one_error):
    proc = run_demo(tmp_path, "--source", tmp_path / "nope.mp4", "--target", sample["target"].directory)
    one_error(proc.returncode, proc.stderr, "nope.mp4")


def test_missing_target(sample, tmp_path, run_demo, one_error):
    proc = run_demo(tmp_path, "--source", sample["source"], "--target", tmp_path / "no_target")
    one_error(proc.returncode, proc.stderr, "no_target")


def test_target_that_is_not_a_prepared_dataset(sample, tmp_path, run_demo, one_error):
    (tmp_path / "empty").mkdir()
    proc = run_demo(tmp_path, "--source", sample["source"], "--target", tmp_path / "empty")
    one_error(proc.returncode, proc.stderr, "empty", "not a prepared dataset")


def test_missing_and_truncated_model_files(sample, sample_dataset_copy, tmp_path, run_demo, one_error):
    target = sample_dataset_copy
    model = f"gan_{sample['target'].image_size}.pt"
    proc = run_demo(tmp_path, "--source", sample["source"], "--target", target, "--gen", "gan")
    one_error(proc.returncode, proc.stderr, model)
    (target / "models").mkdir(exist_ok=True)
    (target / "models" / model).write_bytes(b"PK\x03\x04 not really a model")
    proc = run_demo(tmp_path, "--source", sample["source"], "--target", target, "--gen", "gan")
    one_error(proc.returncode, proc.stderr, model)


def test_camera_that_cannot_be_opened(sample, tmp_path, run_demo, one_error):
    proc = run_demo(tmp_path, "--source", "57", "--target", sample["target"].directory)
    one_error(proc.returncode, proc.stderr, "57", "camera")


def test_output_in_a_missing_folder(sample, tmp_path, run_demo, one_error):
    proc = run_demo(tmp_path, "--source", sample["source"], "--target", sample["target"].directory,
                    "--output", tmp_path / "missing" / "out.mp4")
    one_error(proc.returncode, proc.stderr, "out.mp4", "does not exist")

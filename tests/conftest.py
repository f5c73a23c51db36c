"""Shared fixtures of the suite: the project's own synthetic sample, the real footage, and helpers.

Two layers of data:

* The synthetic sample (DanceSample.py: a cartoon dancer that MediaPipe finds like a real
  person), rendered once per test run into a session folder, and its target video prepared
  once with VideoSkeleton. Every behaviour is tested on it, so a fresh clone with nothing
  beside it runs the whole suite: preparation, training, the demo and the evaluation.
* The real footage in ../shared/data (tests/test_real_footage.py), an extra layer that
  skips, with its reason, when the footage is absent. DANCE_TEST_NO_SHARED=1 makes the
  suite behave as if it were absent. Test modules find the footage only through the
  fixtures below (`shared_data`, `squat_video`, `karate_video`, `taichi1`).

Session fixtures are read-only: a test that changes a dataset works on a copy
(`sample_dataset_copy`, `make_small_dataset`).
"""
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import cv2
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
NO_SHARED = "DANCE_TEST_NO_SHARED"   # set to 1: behave as if ../shared/data were absent

# Each run of the suite gets its own project data folder (samples, default outputs, caches,
# snapshots): the tests neither read nor write the user's data/. Set before any module is imported.
DANCE_DATA = Path(tempfile.mkdtemp(prefix="dance-test-data-"))
os.environ["DANCE_DATA"] = str(DANCE_DATA)
atexit.register(shutil.rmtree, DANCE_DATA, ignore_errors=True)

# The synthetic sample of every run: SAMPLE_SECONDS of each dancer at 25 fps, SAMPLE_SIDE pixels square
# (100 frames per video: enough for DanceEval's --quick subset of 60 frames, quick for MediaPipe).
SAMPLE_SECONDS, SAMPLE_FPS, SAMPLE_SIDE = 4.0, 25, 240
DATASET_SIZE = 64            # crops of the prepared sample target
SMALL_ITEMS = 8              # crops of the small training datasets

# What MediaPipe / TensorFlow Lite / absl print on stderr by themselves: not ours.
NOISE_MARKERS = ("WARNING: All log messages before absl", "W0000 ", "I0000 ", "E0000 ",
                 "Created TensorFlow Lite XNNPACK delegate")
# A tqdm bar ("detecting poses:  21%|##   | 40/192 [00:00<00:01, 150.98frame/s]", or a trainer's
# "gan 2/5:  33%|###  | 1/3 [...]") that MediaPipe's own output, or an error raised while the bar was
# on screen, interrupted before the bar could redraw or clear itself.
TQDM_BAR = re.compile(r"[\w /]+: *\d+%\|[^|]*\| *\d+/\d+ \[[^\]]*\]")
# TensorFlow Lite writes "INFO: " and the rest of its line in two pieces from its own thread, so our
# line can land between them: "INFO: error: ...", or "INFO:" alone on a line. None of ours starts so.
TFLITE_PREFIX = re.compile(r"^INFO:\s*")


# ---------------------------------------------------------------------- plain helpers
def visible_stderr_lines(stderr):
    """The lines of stderr that are ours: without MediaPipe's noise and tqdm's progress bars.

    tqdm draws and clears its bars with carriage returns, and MediaPipe's C++ threads write
    in the middle of them, so the bars and the '\\r' are removed before the lines are judged.
    """
    lines = []
    for line in stderr.split("\n"):
        shown = TFLITE_PREFIX.sub("", TQDM_BAR.sub("", line).replace("\r", "").strip())
        if shown and not any(marker in shown for marker in NOISE_MARKERS):
            lines.append(shown)
    return lines


def run_module(script, *args, timeout=300, cwd=REPO, env=None):
    """Run `python SCRIPT ARGS...` (SCRIPT relative to the repository root): (returncode, stdout, stderr).

    The output is decoded here rather than with text=True, whose universal newlines would
    turn tqdm's carriage returns into line breaks.
    """
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, str(REPO / script), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, timeout=timeout)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def check_one_error(code, err, *expected):
    """A command failed with one clear line: exit code 2, no traceback, one visible line on stderr
    that starts with 'error: ' and holds each of `expected`. Returns the line."""
    assert "Traceback" not in err, err
    lines = visible_stderr_lines(err)
    assert len(lines) == 1, f"expected one error line, got: {lines}"
    assert lines[0].startswith("error: "), lines[0]
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert code == 2, (code, lines[0])
    return lines[0]


def copy_dataset_items(source_dir, directory, picks):
    """A prepared dataset in `directory` holding the items `picks` of the dataset in `source_dir`."""
    from VideoSkeleton import VideoSkeleton

    source_dir, directory = Path(source_dir), Path(directory)
    with np.load(source_dir / "landmarks.npz", allow_pickle=False) as data:
        landmarks, names, frames = data["landmarks"], data["image"], data["frame"]
    (directory / "images").mkdir(parents=True)
    for name in names[picks]:
        shutil.copy(source_dir / "images" / str(name), directory / "images" / str(name))
    np.savez(directory / "landmarks.npz", landmarks=landmarks[picks], image=names[picks], frame=frames[picks])
    return VideoSkeleton(str(directory))


# ---------------------------------------------------------------------- helper fixtures
@pytest.fixture(scope="session")
def run_cli():
    """`run_module` as a fixture: run_cli("VideoSkeleton.py", ...) -> (returncode, stdout, stderr)."""
    return run_module


@pytest.fixture(scope="session")
def stderr_lines():
    """`visible_stderr_lines` as a fixture."""
    return visible_stderr_lines


@pytest.fixture(scope="session")
def read_frames():
    """read_frames(path) -> the list of frames (BGR) OpenCV reads from the video at `path`."""
    def read(path):
        reader = cv2.VideoCapture(str(path))
        frames = []
        while True:
            ok, frame = reader.read()
            if not ok:
                break
            frames.append(frame)
        reader.release()
        return frames
    return read


@pytest.fixture(scope="session")
def count_frames():
    """count_frames(path) -> how many frames OpenCV reads from the video at `path`."""
    def count(path):
        reader = cv2.VideoCapture(str(path))
        frames = 0
        while reader.read()[0]:
            frames += 1
        reader.release()
        return frames
    return count


@pytest.fixture(scope="session")
def one_error():
    """`check_one_error` as a fixture: one_error(code, stderr, *texts the line must hold) -> the line."""
    return check_one_error


@pytest.fixture(scope="session")
def run_demo():
    """run_demo(cwd, *args, display=None) -> CompletedProcess of `python DanceDemo.py ARGS` (text output).

    Without `display` the demo sees no display at all, as on a server."""
    def run(cwd, *args, display=None, timeout=240):
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        if display:
            env["DISPLAY"] = display
        return subprocess.run([sys.executable, str(REPO / "DanceDemo.py"), *map(str, args)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=timeout)
    return run


@pytest.fixture(scope="session")
def seed():
    """seed(value=0): seed torch's and numpy's global generators (the networks' tests start the same)."""
    def seed_all(value=0):
        import torch
        torch.manual_seed(value)
        np.random.seed(value)
    return seed_all


@pytest.fixture(scope="session")
def dance_data():
    """The project's data folder of this run (DANCE_DATA): default outputs, caches, snapshots."""
    return DANCE_DATA


# ---------------------------------------------------------------------- the synthetic sample
@dataclass(frozen=True)
class SampleVideos:
    """DanceSample's two videos (and their true landmarks) as made for this run."""
    folder: Path
    paths: dict          # make_sample's answer: target_video, target_truth, source_video, source_truth
    seconds: float
    fps: int
    width: int
    height: int

    @property
    def frames(self):
        return int(round(self.seconds * self.fps))

    @property
    def target(self):
        return Path(self.paths["target_video"])

    @property
    def source(self):
        return Path(self.paths["source_video"])


@dataclass(frozen=True)
class Clip:
    """A short video of one person and what a test may expect of it."""
    path: Path
    frames: int
    width: int
    height: int
    fps: float
    truth: Path = None   # the true landmarks of every frame (npz), when known


@pytest.fixture(scope="session")
def sample_videos(tmp_path_factory):
    """The synthetic sample of this run: a target and a source dancer, 4 s at 25 fps, 240 x 240 (read-only)."""
    import DanceSample
    folder = tmp_path_factory.mktemp("sample")
    paths = DanceSample.make_sample(str(folder), seconds=SAMPLE_SECONDS, fps=SAMPLE_FPS, width=SAMPLE_SIDE,
                                    height=SAMPLE_SIDE)
    return SampleVideos(folder, paths, SAMPLE_SECONDS, SAMPLE_FPS, SAMPLE_SIDE, SAMPLE_SIDE)


@pytest.fixture(scope="session")
def clip(sample_videos):
    """A short video of one person in every frame, standing in for real footage: the sample's target video."""
    return Clip(sample_videos.target, sample_videos.frames, sample_videos.width, sample_videos.height,
                sample_videos.fps, Path(sample_videos.paths["target_truth"]))


@pytest.fixture(scope="session")
def sample_dataset(sample_videos, tmp_path_factory):
    """The sample's target video prepared with VideoSkeleton: every frame, 64 px crops (read-only).

    Its folder is named sample_target, as the demo's default target is."""
    from VideoSkeleton import VideoSkeleton
    out_dir = tmp_path_factory.mktemp("datasets") / "sample_target"
    return VideoSkeleton(str(sample_videos.target), modFrame=1, size=DATASET_SIZE, out_dir=str(out_dir),
                         progress=False)


@pytest.fixture
def sample_dataset_copy(sample_dataset, tmp_path):
    """A private copy of the prepared sample target (a test may add models to it or damage it)."""
    copy = tmp_path / "sample_target"
    shutil.copytree(sample_dataset.directory, copy)
    return copy


@pytest.fixture
def make_small_dataset(sample_dataset):
    """make_small_dataset(directory, count=8) -> VideoSkeleton: `count` crops spread over the prepared
    sample target, as a dataset of their own (the networks' tests train on it and write their models in it)."""
    def make(directory, count=SMALL_ITEMS):
        picks = np.linspace(0, len(sample_dataset) - 1, count).round().astype(int)
        return copy_dataset_items(sample_dataset.directory, directory, picks)
    return make


@pytest.fixture
def small_vs(make_small_dataset, tmp_path):
    """A private dataset of 8 crops of the sample target, 64 px."""
    return make_small_dataset(tmp_path / "small8")


# ---------------------------------------------------------------------- the real footage
def shared_footage():
    """../shared/data when it is there and DANCE_TEST_NO_SHARED is not set; else None."""
    if os.environ.get(NO_SHARED, "") not in ("", "0"):
        return None
    return SHARED_DATA if SHARED_DATA.is_dir() else None


def skip_reason():
    if os.environ.get(NO_SHARED, "") not in ("", "0"):
        return f"{NO_SHARED} is set: the real-footage layer is off"
    return f"{SHARED_DATA} is absent: the real-footage layer needs it"


@pytest.fixture(scope="session")
def shared_data():
    """Path to ../shared/data (the real footage); skips the test, with its reason, when it is absent."""
    path = shared_footage()
    if path is None:
        pytest.skip(skip_reason())
    return path


def shared_file(shared_data, relative):
    path = shared_data / relative
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def squat_video(shared_data):
    """The tiny real clip physio_squat.mp4 (114 frames, 1080x1080, 29.97 fps, its index at the end)."""
    return Clip(shared_file(shared_data, "videos/physio_squat.mp4"), 114, 1080, 1080, 29.97)


@pytest.fixture(scope="session")
def karate_video(shared_data):
    """course_karate1.mp4 (192 frames, its index (moov atom) at the front)."""
    return shared_file(shared_data, "videos/course_karate1.mp4")


@pytest.fixture(scope="session")
def taichi1(shared_data):
    """The course's prepared taichi1 dataset (1482 crops of 128 px); read-only."""
    return shared_file(shared_data, "taichi1/landmarks.npz").parent


# ---------------------------------------------------------------------- the safety tests' sample (test_safety*.py)
@pytest.fixture(scope="session")
def prepare_cli(run_cli):
    """prepare_cli(VIDEO, DIR, extra...): python VideoSkeleton.py VIDEO --mod-frame 2 --size 64 --out DIR [extra...]"""
    return lambda video, out_dir, *extra: run_cli("VideoSkeleton.py", video, "--mod-frame", 2, "--size", 64,
                                                  "--out", out_dir, *extra)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The synthetic sample's two videos (target and source dancers), small and short."""
    import DanceSample
    folder = tmp_path_factory.mktemp("safety_sample")
    paths = DanceSample.make_sample(str(folder), seconds=2.0, width=240, height=240)
    return {"target": Path(paths["target_video"]), "source": Path(paths["source_video"]), "folder": folder}


@pytest.fixture(scope="module")
def prepared(sample, tmp_path_factory, prepare_cli):
    """The target video prepared by the command line at 64 px (read-only: tests copy it to change it)."""
    out = tmp_path_factory.mktemp("safety_prepared") / "target64"
    code, stdout, stderr = prepare_cli(sample["target"], out)
    assert code == 0, stderr
    assert (out / "landmarks.npz").is_file()
    return {"dir": out, "stdout": stdout, "stderr": stderr}

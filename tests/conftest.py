"""Shared fixtures: the real footage in ../shared/data, and running a module's command line."""
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Each run of the suite gets its own project data folder (samples, default outputs, caches,
# snapshots): the tests neither read nor write the user's data/. Set before any module is imported.
DANCE_DATA = Path(tempfile.mkdtemp(prefix="dance-test-data-"))
os.environ["DANCE_DATA"] = str(DANCE_DATA)
atexit.register(shutil.rmtree, DANCE_DATA, ignore_errors=True)

# The modules are flat files at the repository root.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# What MediaPipe / TensorFlow Lite / absl print on stderr by themselves: not ours.
NOISE_MARKERS = ("WARNING: All log messages before absl", "W0000 ", "I0000 ", "E0000 ",
                 "Created TensorFlow Lite XNNPACK delegate")
# A tqdm bar ("detecting poses:  21%|##   | 40/192 [00:00<00:01, 150.98frame/s]") that MediaPipe's
# own output interrupted before the bar could redraw or clear itself.
TQDM_BAR = re.compile(r"[\w ]+: *\d+%\|[^|]*\| *\d+/\d+ \[[^\]]*\]")
# TensorFlow Lite writes "INFO: " and the rest of its line in two pieces from its own thread, so our
# line can land between them: "INFO: error: ...", or "INFO:" alone on a line. None of ours starts so.
TFLITE_PREFIX = re.compile(r"^INFO:\s*")


@pytest.fixture(scope="session")
def shared_data():
    """Path to ../shared/data (the real footage); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent: real-footage tests need it")
    return SHARED_DATA


@pytest.fixture(scope="session")
def squat_video(shared_data):
    """The tiny real clip (114 frames, 1080x1080) most tests use."""
    path = shared_data / "videos" / "physio_squat.mp4"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


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


def run_module(script, *args, timeout=300):
    """Run `python SCRIPT ARGS...` from the repository root: (returncode, stdout, stderr).

    The output is decoded here rather than with text=True, whose universal newlines would
    turn tqdm's carriage returns into line breaks.
    """
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, script, *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, timeout=timeout)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


@pytest.fixture
def run_cli():
    """`run_module` as a fixture: run_cli("VideoSkeleton.py", ...) -> (returncode, stdout, stderr)."""
    return run_module


@pytest.fixture
def stderr_lines():
    """`visible_stderr_lines` as a fixture."""
    return visible_stderr_lines

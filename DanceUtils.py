"""Small helpers shared by every module: the user-facing error, the project's data folder,
checks of output paths, atomic writes, the command-line wrapper, a quiet MediaPipe and the
choice of device.

Kept in one place so that every script reports a user's mistake the same way (one line
naming the file and the problem, a non-zero exit code, no traceback) and follows the same
rules for what it writes: every output path is checked before the work starts, no output is
ever one of the inputs, and files are written atomically.
"""
import atexit
import contextlib
import math
import os
import sys
import tempfile
import threading

import cv2
import numpy as np

# The project's own data folder: prepared samples, default outputs, caches and snapshots go
# here (not into ./data of whatever folder a command runs from). DANCE_DATA in the environment
# names another one (the tests give each run its own).
PROJECT_DIR = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.abspath(os.environ.get("DANCE_DATA") or os.path.join(PROJECT_DIR, "data"))
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi")   # what VideoFileWriter can write
DEVICE_TYPES = ("cpu", "cuda", "mps")                 # the torch devices --device accepts


class DanceError(Exception):
    """A problem caused by the user's input (a missing file, a bad option...).

    The message is shown as it is, on one line, by `run_cli`.
    """


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path beside `path`; rename it onto `path` on success.

    An interrupted or failed write therefore never destroys the last good file.
    `suffix` defaults to the real extension, because some writers (OpenCV's
    VideoWriter, np.savez) pick the format from it.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if suffix is None:
        suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp" + suffix, dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes owner-only files; give the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def shown(path):
    """`path` as a message shows it: relative to the current folder when it lies inside it."""
    path = os.fspath(path)
    try:
        relative = os.path.relpath(path)
    except ValueError:   # another drive (Windows)
        return path
    return path if relative.startswith(os.pardir) else relative


def same_path(a, b):
    """True when the paths `a` and `b` name the same file or folder (links and `..` resolved)."""
    a, b = os.fspath(a), os.fspath(b)
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def is_within(path, folder):
    """True when `path` is `folder` or lies inside it (after resolving links)."""
    path, folder = os.path.realpath(os.fspath(path)), os.path.realpath(os.fspath(folder))
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_folder_for(path, create=False):
    """A DanceError unless the folder that will hold `path` exists (or can be made, with create=True)
    and is writable."""
    folder = os.path.dirname(os.path.abspath(path))
    existing = folder
    while not os.path.lexists(existing):   # the nearest part of the path that exists (a link counts)
        existing = os.path.dirname(existing)
    if not os.path.exists(existing):   # a link to nothing: os.makedirs would fail on it
        raise DanceError(f"{path}: {shown(existing)} is a link to nothing ({os.readlink(existing)})")
    if not os.path.isdir(existing):
        raise DanceError(f"{path}: {shown(existing)} is a file, not a folder")
    if existing != folder and not create:
        raise DanceError(f"{path}: the folder {shown(folder)} does not exist")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DanceError(f"{path}: the folder {shown(existing)} is not writable")


def check_not_inside(path, input_folders, flag="--out", what="file"):
    """A DanceError when `path` lies inside one of the input dataset folders (links resolved).

    An output written there would replace, or mix with, the dataset's own files (its plate, a
    crop, its models) that the next run reads back as data. Inputs that are not folders (a
    video file, a camera index) hold nothing and are skipped.
    """
    for folder in input_folders:
        if folder is not None and os.path.isdir(folder) and is_within(path, folder):
            raise DanceError(f"{flag} {path}: lies inside the input dataset {folder}; choose a {what} outside "
                             f"it (nothing was written)")


def check_output_file(path, extensions=None, inputs=(), create=False, flag="--out", input_folders=()):
    """Check, before any work, that `path` can receive an output file; a DanceError naming it if not.

    extensions: the file endings a writer knows (e.g. VIDEO_EXTENSIONS); inputs: paths that the
    output must never be (a source video...); create: make missing folders (the project's defaults);
    input_folders: input datasets, inside which the output must never lie (see check_not_inside).
    """
    path = os.fspath(path)
    if not path or path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise DanceError(f"{flag} {path}: is a folder; give a file name such as "
                         f"{os.path.join(path or '.', 'out' + (extensions or ('.mp4',))[0])}")
    ext = os.path.splitext(path)[1].lower()
    if extensions is not None and ext not in extensions:
        raise DanceError(f"{flag} {path}: " + (f"unknown extension '{ext}'" if ext else "no extension")
                         + f"; use one of {', '.join(extensions)}")
    for source in inputs:
        if source is not None and same_path(path, source):
            raise DanceError(f"{flag} {path}: is one of the inputs; choose another output file (nothing was written)")
    check_not_inside(path, input_folders, flag, "file")
    check_folder_for(path, create)
    return path


def check_output_folder(path, inputs=(), create=True, flag="--out", input_folders=()):
    """Check that `path` can be, or already is, a folder to write outputs into.

    inputs: paths the folder must never hold; input_folders: input datasets it must never lie in.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise DanceError(f"{flag} {path}: is a file, not a folder (it was left as it is)")
    for source in inputs:
        if source is not None and is_within(source, path):
            raise DanceError(f"{flag} {path}: holds the input {source}; choose another folder")
    check_not_inside(path, input_folders, flag, "folder")
    if os.path.isdir(path):
        if not os.access(path, os.W_OK | os.X_OK):
            raise DanceError(f"{flag} {path}: the folder is not writable")
    else:
        check_folder_for(path, create)
    return path


def check_number(flag, value, positive=True):
    """A DanceError unless `value` is a finite number above 0 (positive=True) or of 0 or more.

    argparse's type=float takes "nan" and "inf": a nan budget never runs out and an infinite rate
    turns every weight into nan, so both are refused before any work.
    """
    if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
        raise DanceError(f"{flag} {value:g}: must be a finite number " + ("above 0" if positive else "of 0 or more"))
    return value


def image_writable(path):
    """True when OpenCV can write an image with this file name's extension."""
    import cv2

    return bool(os.path.splitext(path)[1]) and cv2.haveImageWriter(path)


def write_image(path, image):
    """cv2.imwrite, atomically, or a DanceError naming the file when it cannot be written."""
    import cv2

    with atomic_path(path) as tmp:
        if not cv2.imwrite(tmp, image):
            raise DanceError(f"{path}: could not write the image")
    return path


# What MediaPipe, TensorFlow Lite and absl print by themselves (never a line of ours).
NATIVE_NOISE = (b"Created TensorFlow Lite XNNPACK delegate", b"All log messages before absl::InitializeLog()",
                b"inference_feedback_manager", b"landmark_projection_calculator", b"W0000 ", b"I0000 ")
_native_filter = None


def filter_native_stderr(noise=NATIVE_NOISE):
    """From now on, drop the log lines that MediaPipe's C++ code writes on stderr by itself.

    Those lines ("INFO: Created TensorFlow Lite XNNPACK delegate", "W0000 ...") are written
    straight to file descriptor 2, some of them later and from MediaPipe's own threads, so no
    Python setting reaches them. Descriptor 2 becomes a pipe read by a thread that passes on every
    other line; Python's sys.stderr (our messages, tqdm's bars, tracebacks) writes to the real
    stderr directly. Done once per process, and only for a real console stderr (not under pytest's
    capture, for instance).
    """
    global _native_filter
    if _native_filter is not None or sys.stderr is None or sys.stderr is not sys.__stderr__:
        return
    try:
        sys.stderr.flush()
        if sys.stderr.fileno() != 2:
            return
        real = os.dup(2)
    except (OSError, ValueError, AttributeError):   # no real descriptor 2 (some IDEs)
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stderr = sys.__stderr__ = open(real, "w", buffering=1, encoding=sys.stderr.encoding,
                                       errors="backslashreplace", closefd=False)

    def forward():
        pending = b""
        while True:
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if not any(marker in line for marker in noise):
                    os.write(real, line + b"\n")
        if pending and not any(marker in pending for marker in noise):
            os.write(real, pending)

    _native_filter = threading.Thread(target=forward, name="native-stderr", daemon=True)
    _native_filter.start()

    def finish():   # at exit: close the pipe, let the thread pass on what is left
        os.dup2(real, 2)
        _native_filter.join(timeout=1.0)

    atexit.register(finish)


def blend(person, alpha, background):
    """`person` over `background` (BGR uint8 images of one size) through the opacity `alpha` (float
    H x W in 0..1): what a generator that draws over the background plate shows."""
    alpha = np.asarray(alpha, np.float32)
    return cv2.blendLinear(person, background, alpha, 1 - alpha)   # alpha * person + (1 - alpha) * background


def fit_size(image, size):
    """A square `image` resized to size x size (INTER_AREA to shrink, bicubic to enlarge); itself when it fits."""
    if image.shape[0] == size:
        return image
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_CUBIC)


def run_cli(main):
    """Run `main()` as a script: a DanceError becomes one line on stderr and exit code 2."""
    try:
        code = main()
    except DanceError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except MemoryError:
        print("error: out of memory: try a smaller --size or --batch", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: the last finished result is kept", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)


def pick_device(requested=None):
    """The torch device to use: `requested` if given, else cuda, then mps, then cpu."""
    import torch

    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError:   # not a torch device at all ("gpu", "cuda:x")
            device = None
        # Only the devices the project runs on: others ("meta", "xla"...) are accepted by torch.device
        # and fail later, deep in training, with a traceback.
        if device is None or device.type not in DEVICE_TYPES:
            raise DanceError(f"--device {requested}: not a device the project runs on; "
                             f"choose cpu, cuda, cuda:N (a GPU's number) or mps")
        if device.type == "cuda" and not torch.cuda.is_available():
            raise DanceError(f"--device {requested}: CUDA is not available on this machine")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise DanceError(f"--device {requested}: MPS is not available on this machine")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def has_display():
    """True when a window can be opened. cv2.imshow without one aborts the whole process."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True  # Windows and macOS always have a desktop session for a user's script

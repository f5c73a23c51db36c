"""Small helpers shared by every module: the user-facing error, atomic writes,
the command-line wrapper and the choice of device.

Kept in one place so that every script reports a user's mistake the same way:
one line naming the file and the problem, a non-zero exit code, no traceback.
"""
import contextlib
import os
import sys
import tempfile


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


def run_cli(main):
    """Run `main()` as a script: a DanceError becomes one line on stderr and exit code 2."""
    try:
        code = main()
    except DanceError as err:
        print(f"error: {err}", file=sys.stderr)
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
        except RuntimeError as err:
            raise DanceError(f"--device {requested}: not a torch device ({err})") from None
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

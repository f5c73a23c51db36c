"""Where a preparation writes: the dataset folder, and the rules that keep a user's files safe.

VideoSkeleton prepares a video into a folder DIR. It never writes into DIR while it works: it fills
a work folder `DIR.partial-XXXX` beside it, and only when everything is there does it swap the two:

    DIR -> DIR.old-XXXX      (the previous dataset, put aside)
    DIR.old-XXXX/models -> DIR.partial-XXXX/models   (its trained models, kept)
    DIR.partial-XXXX -> DIR  (the new dataset in place)
    DIR.old-XXXX removed

Every folder it makes for this holds a marker file, `.dance-own`, whose first line is the folder's
own name: a folder is the project's only when its marker names it (a copy or a renamed folder of
the user's does not match, so it is never removed). A run killed half way is finished or undone by
the next one, models first (recover_interrupted); what it left is removed only after the new
dataset is in place (remove_leftovers).

    check_dataset_folder(DIR, video)   # before any work: new, empty, or a dataset of ours
    recover_interrupted(DIR)           # an earlier killed swap: undo it, its models first
    work = make_work_folder(DIR)
    ... fill work ...
    replace_directory(work, DIR)       # checks DIR again, swaps, keeps the models
    remove_leftovers(DIR)
"""
import os
import re
import shutil
import tempfile

from DanceUtils import DanceError, check_output_folder, is_within, shown

LANDMARKS_FILE = "landmarks.npz"
PLATE_FILE = "background.png"
CONFIDENCE_FILE = "plate_confidence.png"   # how sure the plate is of each pixel (0: never seen clear of the person)
OWN_MARKER = ".dance-own"
MASKS_SPILL = "pass1-masks.bin"   # in a work folder: the person masks of pass 1, until pass 2 cuts them
# Everything a prepared dataset folder may hold. A folder holding anything else is not one of
# ours, and is never replaced. (A marker may be left in a dataset by a run killed mid-swap.)
HIGH_IMAGES, HIGH_MASKS = "images_high", "masks_high"   # the sharp crops (VideoSkeleton's HIGH_SIZE) and masks
DATASET_ENTRIES = {LANDMARKS_FILE, "images", "models", "masks", HIGH_IMAGES, HIGH_MASKS, PLATE_FILE, CONFIDENCE_FILE,
                   OWN_MARKER}
# What the item folders of a prepared dataset hold: imageN.jpg (crops), imageN.png (masks), nothing else.
ITEM_FILES = {"images": re.compile(r"image\d+\.jpg"), "masks": re.compile(r"image\d+\.png"),
              HIGH_IMAGES: re.compile(r"image\d+\.jpg"), HIGH_MASKS: re.compile(r"image\d+\.png")}


def is_prepared_dataset(path):
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, LANDMARKS_FILE))


def foreign_entries(path, allowed=DATASET_ENTRIES):
    """What the folder `path` holds beyond what a prepared dataset holds (sorted, relative names),
    inside its item folders too (images/, masks/, ...)."""
    extra = sorted(set(os.listdir(path)) - set(allowed))
    for folder, pattern in ITEM_FILES.items():
        inside = os.path.join(path, folder)
        if os.path.islink(inside) or (os.path.exists(inside) and not os.path.isdir(inside)):
            extra.append(folder)
        elif os.path.isdir(inside):
            extra += sorted(f"{folder}/{name}" for name in os.listdir(inside)
                            if not pattern.fullmatch(name) or not os.path.isfile(os.path.join(inside, name))
                            or os.path.islink(os.path.join(inside, name)))
    return extra


def normal_folder(path):
    """`path` without a trailing separator (what tab completion gives) or `a/./b`, as a message shows it."""
    return os.path.normpath(os.fspath(path))


def check_dataset_folder(directory, video_path):
    """Before a preparation: `directory` may be new, empty, or a prepared dataset of ours, nothing else.

    A preparation replaces the whole folder, so a folder of the user's (or a file, or a link) is
    refused with one line and left exactly as it is.
    """
    directory = normal_folder(directory)
    if os.path.islink(directory):
        raise DanceError(f"--out {directory}: is a link; give the folder itself, or a new folder (nothing was changed)")
    if is_within(os.getcwd(), directory):
        raise DanceError(f"--out {directory}: is the current folder or holds it; give a dataset folder such as "
                         f"data/my_target (nothing was changed)")
    check_output_folder(directory, inputs=[video_path])
    if not os.path.isdir(directory) or not os.listdir(directory):
        return
    if not is_prepared_dataset(directory):
        raise DanceError(f"--out {directory}: an existing folder that is not a prepared dataset; a preparation "
                         f"replaces its folder, so choose a new or empty one (nothing was changed)")
    extra = foreign_entries(directory)
    if extra:
        raise DanceError(f"--out {directory}: holds {', '.join(extra[:3])}{' ...' if len(extra) > 3 else ''}, "
                         f"which a prepared dataset does not; move it out or choose another folder "
                         f"(nothing was changed)")


# ---------------------------------------------------------------------- the project's own folders
def mark_own(folder, name=None):
    """Write the marker that makes `folder` provably the project's: its name (or the name it is
    about to be given), then this process's id (a live run's folder is never removed)."""
    with open(os.path.join(folder, OWN_MARKER), "w") as marker:
        marker.write(f"{name or os.path.basename(folder)}\n{os.getpid()}\n")


def own_marker(folder):
    """(name, pid) of the marker in `folder` when it is the project's own folder (its marker names
    it), else None."""
    path = os.path.join(folder, OWN_MARKER)
    if os.path.islink(folder) or not os.path.isdir(folder) or os.path.islink(path) or not os.path.isfile(path):
        return None
    try:
        with open(path) as marker:
            lines = marker.read(4096).splitlines()
        name, pid = lines[0], int(lines[1])
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    return (name, pid) if name == os.path.basename(folder) else None


def in_use(pid):
    """True when another live process has this id (its folder is still being worked on)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:   # alive, another user's
        return True
    return True


def siblings(directory, kind):
    """The project's own folders `<DIR>.<kind>-*` beside `directory` (kind: 'partial' or 'old')."""
    parent, name = os.path.dirname(os.path.abspath(directory)), os.path.basename(os.path.abspath(directory))
    if not os.path.isdir(parent):
        return []
    prefix = f"{name}.{kind}-"
    return [os.path.join(parent, entry) for entry in sorted(os.listdir(parent))
            if entry.startswith(prefix) and own_marker(os.path.join(parent, entry))]


def make_work_folder(directory):
    """A new, marked work folder `<DIR>.partial-XXXX` beside `directory`."""
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=os.path.basename(os.path.abspath(directory)) + ".partial-", dir=parent)
    os.chmod(work, 0o755)  # mkdtemp makes an owner-only folder; a dataset is meant to be shared
    mark_own(work)
    return work


def has_models(folder):
    models = os.path.join(folder, "models")
    return os.path.isdir(models) and bool(os.listdir(models))


def move_models(source, destination):
    """Move the model files of `source/models` into `destination/models`, never over a file there.
    Returns what stayed behind (names that were taken)."""
    into = os.path.join(destination, "models")
    if not os.path.exists(into):
        shutil.move(os.path.join(source, "models"), into)
        return []
    left = []
    for name in sorted(os.listdir(os.path.join(source, "models"))):
        if os.path.lexists(os.path.join(into, name)):
            left.append(name)
        else:
            shutil.move(os.path.join(source, "models", name), os.path.join(into, name))
    if not left:
        os.rmdir(os.path.join(source, "models"))
    return left


def remove_own_folder(folder):
    """Remove one of the project's own folders, unless it holds models or anything a dataset does not
    (then it stays, with one line that says so). True when removed."""
    kept = ["models"] if has_models(folder) else foreign_entries(folder, DATASET_ENTRIES | {MASKS_SPILL})
    if kept:
        print(f"note: {shown(folder)} was left by an interrupted preparation and holds {', '.join(kept[:3])}: "
              f"kept; move what you need out of it, then remove it")
        return False
    shutil.rmtree(folder)
    return True


def recover_interrupted(directory):
    """Finish or undo a preparation into `directory` that was killed during its swap, models first.

    Killed after the old dataset was put aside and before the new one was in place, `directory` is
    missing: the old dataset goes back (with its models, wherever they were). Killed after the new
    one was in place, the old one's models (if still there) join the new dataset's. Nothing is
    removed here."""
    for old in siblings(directory, "old"):
        token = os.path.basename(old).rsplit(".old-", 1)[1]
        work = os.path.join(os.path.dirname(old), f"{os.path.basename(os.path.abspath(directory))}.partial-{token}")
        if in_use(own_marker(old)[1]):
            continue
        if not os.path.lexists(directory):
            if own_marker(work) and has_models(work) and not has_models(old):
                move_models(work, old)
            os.remove(os.path.join(old, OWN_MARKER))
            os.replace(old, directory)
            print(f"note: {shown(directory)} was put back as it was before an interrupted preparation")
        elif has_models(old) and is_prepared_dataset(directory):
            left = move_models(old, directory)
            if left:
                print(f"note: {shown(old)} holds models ({', '.join(left[:3])}) whose names are taken in "
                      f"{shown(directory)}/models: kept there")


def replace_directory(work, directory):
    """Put the finished folder `work` in place of `directory` (an empty folder or a prepared dataset,
    checked before the work began and checked again now), keeping its trained models: they record
    which dataset they were trained on, so a model of another person is refused, not lost."""
    old = None
    if os.path.lexists(directory):
        if os.path.islink(directory) or not os.path.isdir(directory):
            raise DanceError(f"--out {directory}: was replaced by a file or a link during the preparation; "
                             f"nothing was changed")
        extra = foreign_entries(directory) if os.listdir(directory) else []
        if extra or (os.listdir(directory) and not is_prepared_dataset(directory)):
            raise DanceError(f"--out {directory}: {', '.join(extra[:3]) or 'other files'} appeared in it during the "
                             f"preparation; nothing was replaced (move them out and prepare again)")
    if os.path.isdir(directory) and not os.listdir(directory):
        os.rmdir(directory)   # an empty folder of the user's: nothing to keep
    elif os.path.exists(directory):
        old = directory + ".old-" + os.path.basename(work).rsplit(".partial-", 1)[1]
        mark_own(directory, name=os.path.basename(old))   # ours from the moment it is renamed
        os.replace(directory, old)
        if os.path.isdir(os.path.join(old, "models")):
            move_models(old, work)
    os.replace(work, directory)
    os.remove(os.path.join(directory, OWN_MARKER))
    if old:
        remove_own_folder(old)


def remove_leftovers(directory):
    """After a preparation into `directory` succeeded: remove what interrupted ones left beside it
    (`<DIR>.partial-*`, `<DIR>.old-*`), only the project's own folders, of no live run, without models."""
    if not is_prepared_dataset(directory):
        return
    for folder in siblings(directory, "partial") + siblings(directory, "old"):
        if not in_use(own_marker(folder)[1]):
            remove_own_folder(folder)

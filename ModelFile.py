"""A trained generator's model file: a `state_dict` and the settings that describe its network and
its training, written atomically and read with weights_only=True (never a pickle).

    save_model(path, network, settings)         # <dataset>/models/<name>_<size>.pt
    data = read_torch_file(path)                # {"state_dict", "settings"}, or one DanceError line
    check_settings(path, data["settings"], "gan", 128); load_state(path, network, data["state_dict"])

TrainedGenerator is what every network generator (GenVanillaNN, and so GenGAN) shares about its
file: which image size it works at, what the file records, that it was trained on this dataset, and
the command that trains it. DanceTrain.py writes the same files after every epoch.
"""
import math
import os

import torch

from DanceUtils import DanceError, atomic_path

MODEL_VERSION = 1             # version of the model-file format
MAX_IMAGE_SIZE = 1024         # larger networks would not fit in memory


def power_of_two_levels(image_size, smallest=16):
    """log2(image_size), checking that the size is a power of two of at least `smallest`."""
    levels = int(round(math.log2(image_size))) if image_size > 0 else 0
    if not smallest <= image_size <= MAX_IMAGE_SIZE or 2 ** levels != image_size:
        raise DanceError(f"--size {image_size}: the networks need a power of two from {smallest} to "
                         f"{MAX_IMAGE_SIZE} (64, 128, 256...)")
    return levels


def read_torch_file(path, what="model file", remedy=""):
    """torch.load(path) of a file holding only tensors and plain values, or a DanceError naming it.

    remedy: what the error adds to say what to do next (e.g. "; train it again with: ...").
    PyTorch's own text is not passed on: it suggests loading with weights_only=False, which would
    run whatever code a doctored file holds.
    """
    if not os.path.isfile(path):
        raise DanceError(f"{path}: no such {what}{remedy}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a truncated zip, random bytes, a pickle of other objects...
        raise DanceError(f"{path}: not a readable {what} (truncated, corrupted, or not made by this "
                         f"project){remedy}") from None
    if not isinstance(data, dict) or not isinstance(data.get("settings"), dict):
        raise DanceError(f"{path}: not a dance {what} (no settings){remedy}")
    return data


def trained_sizes(models_dir, name):
    """The image sizes of the model files `<name>_<size>.pt` in models_dir (sorted)."""
    sizes = []
    if os.path.isdir(models_dir):
        for entry in os.listdir(models_dir):
            stem, ext = os.path.splitext(entry)
            prefix, _, size = stem.rpartition("_")
            if ext == ".pt" and prefix == name and size.isdigit():
                sizes.append(int(size))
    return sorted(sizes)


def check_settings(path, settings, kind, image_size, what="model file"):
    """A DanceError naming `path` when its settings are not those of a `kind` model of image_size px."""
    if settings.get("version") != MODEL_VERSION:
        raise DanceError(f"{path}: {what} format version {settings.get('version')}, this code reads {MODEL_VERSION}")
    if settings.get("kind") != kind:
        raise DanceError(f"{path}: holds a '{settings.get('kind')}' model, not a '{kind}' one")
    if settings.get("image_size") != image_size:
        raise DanceError(f"{path}: a model for {settings.get('image_size')} px images, not {image_size} px")


def save_model(path, network, settings, others=None):
    """Write {"state_dict", "settings"} to `path` atomically (the old file survives a failed write);
    others: {name: network} saved beside, each under its name (GenGAN's "enhancer")."""
    def weights(module):
        return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}

    saved = {name: weights(module) for name, module in (others or {}).items()}
    with atomic_path(path) as tmp:
        torch.save(dict(saved, state_dict=weights(network), settings=dict(settings)), tmp)


def load_state(path, network, state_dict):
    """network.load_state_dict(state_dict), or a DanceError naming `path`."""
    try:
        network.load_state_dict(state_dict)
    except (RuntimeError, KeyError, TypeError) as err:
        reason = str(err).strip().splitlines()[0][:160]
        raise DanceError(f"{path}: the weights do not fit the network its settings describe ({reason})") from None

class TrainedGenerator:
    """What a network generator shares about its model file. The subclass sets videoSke, name,
    image_size, network_settings, epochs_done, train_seconds, notes and filename, and defines
    trainer(), training_settings(), generating_network() and other_networks() (what else the file holds)."""

    def choose_size(self, requested, models_dir=None):
        """The image size: `requested`, else the dataset's crops; with models_dir (loading a model), the
        size of the only model there when none has the dataset's size."""
        if requested is not None:
            power_of_two_levels(int(requested))
            return int(requested)
        size = self.videoSke.image_size
        sizes = trained_sizes(models_dir, self.name) if models_dir else []
        if sizes and size not in sizes:
            if len(sizes) > 1:
                raise DanceError(f"{models_dir}: {self.name} models of {', '.join(map(str, sizes))} px, none of "
                                 f"the dataset's {size} px; choose one with --size")
            size = sizes[0]
        try:
            power_of_two_levels(size)
        except DanceError:
            raise DanceError(f"{self.videoSke.directory}: its crops are {size} px, and the networks need a power "
                             f"of two: give --size 128 (the crops are resized), or prepare the video again "
                             f"with --size 128") from None
        return size

    def train_command(self):
        """The command that trains this model (for error messages)."""
        size = "" if self.image_size == self.videoSke.image_size else f" --size {self.image_size}"
        return f"{self.trainer()} --data {self.videoSke.directory}{size}"

    def settings(self):
        """What the model file records: the network's settings, how it is trained and how far."""
        return dict(self.network_settings, **self.training_settings(), epochs=self.epochs_done,
                    train_seconds=round(self.train_seconds, 1), notes=self.notes,
                    dataset_fingerprint=self.videoSke.fingerprint)

    def check_file(self, path, settings, what="model file"):
        """A DanceError when the file at `path` was trained on another dataset than this one (files
        made before datasets were fingerprinted record none, and are taken as they are)."""
        recorded = settings.get("dataset_fingerprint")
        if recorded is not None and recorded != self.videoSke.fingerprint:
            raise DanceError(f"{path}: a {what} trained on another dataset than {self.videoSke.directory} "
                             f"(was the folder prepared again from another video?)")

    def set_progress(self, settings):
        """How far the model of these settings (a model file's or a checkpoint's) was trained."""
        self.epochs_done, self.train_seconds = settings.get("epochs", 0), settings.get("train_seconds", 0.0)

    def save(self, path=None):
        save_model(path or self.filename, self.generating_network(), self.settings(), self.other_networks())

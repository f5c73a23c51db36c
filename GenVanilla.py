"""Generate a target person's image from a pose with a neural network, trained on the target's video.

    python GenVanilla.py [--data DIR] [--opt 1|2] [--epochs N] [--size S] [--device D] [--restart]
                         [--batch B] [--lr LR] [--ngf N] [--augment]

trains a generator on a prepared dataset (see VideoSkeleton.py) and writes, beside the data,
    <data>/models/<name>_<size>.pt            the model: what GenVanillaNN(..., loadFromFile=True) reads
    <data>/models/<name>_<size>.ckpt.pt       the checkpoint a new run resumes from (--restart ignores it)
    <data>/models/<name>_<size>_loss.png      the loss curve
    <data>/models/<name>_<size>_samples.png   a few fixed items: stick figure | generated | real
with <name> `vanilla_ske` (option 1) or `vanilla_image` (option 2). All four are rewritten after
every epoch, atomically: Ctrl-C keeps the files of the last finished epoch.

The two options of the course:
    --opt 1  GenNNSke26ToImage: the 26 numbers of the reduced skeleton -> image
    --opt 2  GenNNSkeImToImage: the stick figure (an image) -> image, a pix2pix U-Net

In Python:
    gen = GenVanillaNN(VideoSkeleton("data/taichi1"), optSkeOrImage=2)
    gen.train(10)                       # 10 more epochs (resumes from the checkpoint if there is one)
    image = gen.generate(ske)           # BGR uint8, size x size x 3
    gen = GenVanillaNN(vs, loadFromFile=True, optSkeOrImage=2)   # later: the trained model

The file is laid out as pix2pix / CycleGAN lay out theirs, each part on its own:
    1. image <-> tensor conversions        4. the model file (save / load)
    2. the data: transforms and dataset    5. the training loop (`fit`) and its outputs
    3. the networks                        6. GenVanillaNN, then the command line
GenGAN.py reuses all of it and only adds a discriminator and its losses.
"""
import argparse
import contextlib
import functools
import math
import os
import time

import cv2
import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm import tqdm

from DanceUtils import DATA_DIR, DanceError, atomic_path, pick_device, run_cli, shown, write_image
from Skeleton import Skeleton
from VideoSkeleton import VideoSkeleton

# Defaults of `python GenVanilla.py` (command-line flags override them).
DATA = os.path.join(DATA_DIR, "sample_target")   # the target's prepared dataset (python VideoSkeleton.py makes this sample)
OPT = 2                       # 1: 26 numbers -> image, 2: stick figure -> image
EPOCHS = 20                   # epochs in all: a run resumed from its checkpoint trains up to this many
IMAGE_SIZE = None             # side of the generated images; None: the dataset's crops (a power of two: 64, 128...)
MAX_IMAGE_SIZE = 1024         # larger networks would not fit in memory
BATCH = 16                    # images per optimisation step
LR = 2e-4                     # Adam's learning rate (pix2pix's)
LR_DECAY = 0.2                # over the last fifth of a run the learning rate falls linearly towards 0, so
                              # the run ends on a settled network rather than mid-swing (pix2pix decays
                              # over the last half of its 200 epochs); 0: a constant rate
BETAS = (0.5, 0.999)          # Adam's betas (pix2pix's: a short memory of the gradient's mean)
NGF = 32                      # width of the generators: channels of their outermost layer (pix2pix uses 64,
                              # 32 trains about 4x faster on a CPU and is enough at 128 px)
DROPOUT = 0.0                 # dropout in the U-Net's innermost decoder blocks (pix2pix: 0.5, as noise for a GAN)
AUGMENT = False               # random joint shift/scale of image and skeleton while training. Off: a dance
                              # video's camera stands still, and a shifted background, which no pose
                              # predicts, teaches the network to blur it (measured: docs/BENCHMARKS.md)
AUG_SHIFT = 0.04              # augmentation: largest shift, as a fraction of the image side
AUG_SCALE = 0.05              # augmentation: largest change of scale (0.05 = +-5 %)
SAMPLE_COUNT = 4              # rows of the sample grid (fixed items spread over the dataset)
SAMPLE_CELL = 128             # smaller images are enlarged to about this size in the sample grid
MODEL_VERSION = 1             # version of the model-file format
NAMES = {1: "vanilla_ske", 2: "vanilla_image"}  # model name of each option (DESIGN.md)


# ====================================================================== 1. images <-> tensors
def image_to_tensor(image):
    """BGR uint8 image (H, W, 3) -> RGB float tensor (3, H, W) in [-1, 1]."""
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return torch.from_numpy(rgb).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


def tensor_to_image(tensor):
    """RGB tensor (3, H, W) or (1, 3, H, W) in [-1, 1] -> BGR uint8 image (H, W, 3)."""
    tensor = tensor.detach().float().reshape(3, *tensor.shape[-2:])
    rgb = ((tensor.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


tensor2image = tensor_to_image  # the course's name


def uint8_to_signed(image):
    """uint8 tensor (3, H, W) -> float tensor in [-1, 1]: the default target transform."""
    return image.float().div_(127.5).sub_(1.0)


def stick_figure(ske, image_size):
    """The stick figure of `ske` drawn on a black BGR uint8 image of image_size x image_size."""
    image = np.zeros((image_size, image_size, 3), np.uint8)
    return ske.draw_reduced(image)


# ====================================================================== 2. the data
class SkeToImageTransform:
    """Skeleton -> its stick figure as a network input: RGB float tensor (3, S, S) in [-1, 1].

    The figure is drawn on a black image (Skeleton.draw_reduced: one colour per limb) and
    converted to RGB like the target images, so colours mean the same thing on both sides.
    """

    def __init__(self, image_size):
        self.imsize = image_size

    def __call__(self, ske):
        return image_to_tensor(stick_figure(ske, self.imsize))


class SkeToVectorTransform:
    """Skeleton -> float tensor: the 26 numbers of the reduced form (or the 99 of all landmarks)."""

    def __init__(self, reduced=True):
        self.reduced = reduced

    def __call__(self, ske):
        return torch.from_numpy(np.asarray(ske.__array__(reduced=self.reduced), np.float32))


def default_source_transform(optSkeOrImage, image_size, ske_reduced=True):
    """What a network is given for a skeleton: the vector (option 1) or the stick figure (option 2)."""
    return SkeToVectorTransform(ske_reduced) if optSkeOrImage == 1 else SkeToImageTransform(image_size)


def shift_scale(landmarks, scale, shift):
    """Landmarks (33, 3) scaled by `scale` about the image centre then shifted by `shift` (x, y fractions)."""
    out = landmarks.copy()
    out[:, :2] = (out[:, :2] - 0.5) * scale + 0.5 + shift
    out[:, 2] *= scale
    return out


def shift_scale_image(image, scale, shift):
    """The same transform as shift_scale() applied to an image (H, W, 3); borders repeat the edge.

    A joint at x (a fraction) is drawn at pixel x * W, so scaling about x = 0.5 is scaling
    about pixel W / 2, and the shift is shift * W pixels.
    """
    h, w = image.shape[:2]
    matrix = np.float32([[scale, 0, (1 - scale) * w / 2 + shift[0] * w],
                         [0, scale, (1 - scale) * h / 2 + shift[1] * h]])
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class VideoSkeletonDataset(Dataset):
    """The (source, target) pairs of a prepared dataset, for a DataLoader.

    videoSke          a VideoSkeleton (the target person's frames and skeletons)
    ske_reduced       option 1's vector: the 26 reduced numbers (True) or all 99 (False)
    source_transform  Skeleton -> network input; default: the vector (option 1) or the stick figure (option 2)
    target_transform  uint8 RGB tensor (3, S, S) -> network target; default: float in [-1, 1]
    optSkeOrImage     1 or 2, chooses the default source transform
    image_size        the side S the targets are resized to
    augment           True: every item gets a random shift (up to AUG_SHIFT of the side) and
                      scale (up to +-AUG_SCALE) applied to the image and the skeleton together,
                      so the stick figure still lies on the person
    indices           only these items of videoSke (default: all)
    (src_transform / tgt_transform are accepted as other names of the two transforms.)

    All target images are read once into one uint8 tensor (K, S, S, 3), RGB (1482 images of
    128 px are 73 MB), so an epoch never touches the disk.
    """

    def __init__(self, videoSke, ske_reduced=True, source_transform=None, target_transform=None,
                 optSkeOrImage=1, image_size=128, augment=False, indices=None, *,
                 src_transform=None, tgt_transform=None):
        self.videoSke = videoSke
        self.image_size = image_size
        self.augment = augment
        self.indices = np.arange(len(videoSke)) if indices is None else np.asarray(indices)
        source_transform = src_transform if source_transform is None else source_transform
        target_transform = tgt_transform if target_transform is None else target_transform
        if source_transform is None:
            source_transform = default_source_transform(optSkeOrImage, image_size, ske_reduced)
        self.source_transform = source_transform
        self.target_transform = uint8_to_signed if target_transform is None else target_transform
        self.landmarks = np.stack([videoSke.ske[i].landmarks for i in self.indices])
        self.images = torch.from_numpy(np.stack([self._read(i) for i in self.indices]))

    def _read(self, index):
        image = self.videoSke.readImage(index)
        if image.shape[:2] != (self.image_size, self.image_size):
            interpolation = cv2.INTER_AREA if image.shape[0] > self.image_size else cv2.INTER_LINEAR
            image = cv2.resize(image, (self.image_size, self.image_size), interpolation=interpolation)
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def __len__(self):
        return len(self.indices)

    def pair(self, idx, augment=None):
        """Item idx before the transforms: (Skeleton, uint8 RGB image (S, S, 3)), augmented if asked."""
        augment = self.augment if augment is None else augment
        landmarks, image = self.landmarks[idx], self.images[idx].numpy()
        if augment:
            scale = 1 + AUG_SCALE * (2 * torch.rand(()).item() - 1)
            shift = AUG_SHIFT * (2 * torch.rand(2).numpy() - 1)
            landmarks, image = shift_scale(landmarks, scale, shift), shift_scale_image(image, scale, shift)
        return Skeleton(landmarks), image

    def get(self, idx, augment=None):
        """Item idx as (source, target) tensors; augment=None follows the dataset's setting."""
        ske, image = self.pair(idx, augment)
        return self.source_transform(ske), self.target_transform(torch.from_numpy(image).permute(2, 0, 1))

    def __getitem__(self, idx):
        return self.get(idx)


# ====================================================================== 3. the networks
def init_weights(net, std=0.02):
    """pix2pix's initialisation: weights ~ N(0, std), norm scales ~ N(1, std), biases 0."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d)) and module.weight is not None:
            nn.init.normal_(module.weight, 1.0, std)
            nn.init.zeros_(module.bias)
    return net


def power_of_two_levels(image_size, smallest=16):
    """log2(image_size), checking that the size is a power of two of at least `smallest`."""
    levels = int(round(math.log2(image_size))) if image_size > 0 else 0
    if not smallest <= image_size <= MAX_IMAGE_SIZE or 2 ** levels != image_size:
        raise DanceError(f"--size {image_size}: the networks need a power of two from {smallest} to "
                         f"{MAX_IMAGE_SIZE} (64, 128, 256...)")
    return levels


class GenNNSke26ToImage(nn.Module):
    """Option 1: the 26 numbers of a reduced skeleton -> an RGB image in [-1, 1].

    Two linear layers turn the pose into a 4x4 map of ngf*8 channels. Each block then
    doubles the size (nearest upsampling + 3x3 convolution, which avoids the checkerboard
    of transposed convolutions) and halves the channels (not below ngf), with batch norm and
    ReLU as in DCGAN, until image_size; a last 3x3 convolution gives 3 channels, tanh [-1, 1].
    """

    def __init__(self, image_size=128, ngf=NGF, input_dim=26, hidden=256):
        super().__init__()
        blocks = power_of_two_levels(image_size, smallest=8) - 2   # 4 -> image_size
        self.channels = ngf * 8
        self.fc = nn.Sequential(nn.Linear(input_dim, hidden), nn.ReLU(True),
                                nn.Linear(hidden, self.channels * 4 * 4), nn.ReLU(True))
        layers, c = [], self.channels
        for _ in range(blocks):
            out = max(c // 2, ngf)
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(True)]
            c = out
        layers += [nn.Conv2d(c, 3, 3, padding=1), nn.Tanh()]
        self.decoder = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, ske):
        """ske: (B, 26) joint coordinates in 0..1 -> (B, 3, S, S)."""
        x = self.fc(ske * 2 - 1)   # centre the coordinates on 0
        return self.decoder(x.view(-1, self.channels, 4, 4))


def down_block(c_in, c_out, norm=True, activation="leaky"):
    """Encoder step: 4x4 convolution of stride 2 (halves the size) [+ instance norm] + activation."""
    layers = [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=not norm)]
    if norm:
        layers.append(nn.InstanceNorm2d(c_out, affine=True))
    layers.append(nn.LeakyReLU(0.2, True) if activation == "leaky" else nn.ReLU(True))
    return nn.Sequential(*layers)


def up_block(c_in, c_out, dropout=0.0):
    """Decoder step: 4x4 transposed convolution of stride 2 (doubles the size) + instance norm + ReLU [+ dropout]."""
    layers = [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False),
              nn.InstanceNorm2d(c_out, affine=True), nn.ReLU(True)]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class GenNNSkeImToImage(nn.Module):
    """Option 2: a stick-figure image -> an RGB image in [-1, 1]: pix2pix's U-Net.

    The encoder halves the size log2(image_size) times, down to 1x1 (pix2pix's unet_128 /
    unet_256), doubling the channels from ngf up to ngf*8. The decoder doubles the size back,
    and each of its blocks also receives the encoder's map of the same size (the skip
    connections), so details such as where a limb lies need not pass through the bottleneck.
    Encoder: LeakyReLU(0.2); decoder: ReLU; instance norm except on the outermost layers and
    the 1x1 bottleneck (a single pixel has no statistics); tanh at the end. `dropout` > 0
    adds dropout to the decoder's 3 innermost blocks (pix2pix's noise for a GAN).
    """

    def __init__(self, image_size=128, ngf=NGF, in_channels=3, out_channels=3, dropout=DROPOUT):
        super().__init__()
        levels = power_of_two_levels(image_size)
        chans = [ngf * min(2 ** i, 8) for i in range(levels)]   # channels after each encoder step
        self.downs = nn.ModuleList()
        for i, c in enumerate(chans):
            previous = in_channels if i == 0 else chans[i - 1]
            innermost, outermost = i == levels - 1, i == 0
            self.downs.append(down_block(previous, c, norm=not (innermost or outermost),
                                         activation="relu" if innermost else "leaky"))
        self.ups = nn.ModuleList()
        for i in reversed(range(1, levels)):            # from the bottleneck out; inputs are doubled by the skips
            c_in = chans[i] if i == levels - 1 else 2 * chans[i]
            self.ups.append(up_block(c_in, chans[i - 1], dropout if i >= levels - 3 else 0.0))
        self.last = nn.Sequential(nn.ConvTranspose2d(2 * chans[0], out_channels, 4, stride=2, padding=1), nn.Tanh())
        init_weights(self)

    def forward(self, image):
        """image: (B, 3, S, S) stick figures in [-1, 1] -> (B, 3, S, S)."""
        skips = []
        x = image
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()                                     # the bottleneck itself is x
        for up in self.ups:
            x = torch.cat([up(x), skips.pop()], dim=1)
        return self.last(x)


def build_generator(settings):
    """The generator network described by a model file's settings."""
    if settings["opt"] == 1:
        return GenNNSke26ToImage(settings["image_size"], settings["ngf"])
    return GenNNSkeImToImage(settings["image_size"], settings["ngf"], dropout=settings.get("dropout", 0.0))


# ====================================================================== 4. the model file
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


def save_model(path, network, settings):
    """Write {"state_dict", "settings"} to `path` atomically (the old file survives a failed write)."""
    state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state, "settings": dict(settings)}, tmp)


def load_state(path, network, state_dict):
    """network.load_state_dict(state_dict), or a DanceError naming `path`."""
    try:
        network.load_state_dict(state_dict)
    except (RuntimeError, KeyError, TypeError) as err:
        reason = str(err).strip().splitlines()[0][:160]
        raise DanceError(f"{path}: the weights do not fit the network its settings describe ({reason})") from None


# ====================================================================== 5. training: the loop and its outputs
@functools.cache
def bf16_supported(device_type):
    """Whether the device computes in bfloat16 natively (else bf16 would be emulated, slower than float32)."""
    if device_type == "cuda":
        return torch.cuda.is_bf16_supported()   # Ampere and later; older GPUs train in float32
    if device_type == "cpu" and os.environ.get("DANCE_CPU_BF16", "1") != "0":
        try:   # x86 CPUs with AVX512-BF16 or AMX (oneDNN's kernels): GAN steps 1.7x faster, measured
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def autocast(device, training=True):
    """bf16 mixed precision where the device has it (no loss scaling needed); plain float32 elsewhere.

    Autocast runs convolutions and matrix products in bf16 and keeps the losses in float32.
    On a CPU only for training: batches of 16 gain 1.5-2.7x, one frame at a time loses 10-20 %
    (measured, docs/BENCHMARKS.md). DANCE_CPU_BF16=0 in the environment keeps a CPU in float32.
    """
    if bf16_supported(device.type) and (training or device.type != "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_device(tensor, device):
    """Move a batch to the device; images go channels-last on CUDA (faster convolutions)."""
    tensor = tensor.to(device, non_blocking=True)
    if device.type == "cuda" and tensor.dim() == 4:
        tensor = tensor.contiguous(memory_format=torch.channels_last)
    return tensor


# Several processes: `torchrun --nproc_per_node=N GenGAN.py ...` starts N copies of the script,
# one per GPU (or N on the CPU), each with the environment variables RANK, LOCAL_RANK and
# WORLD_SIZE. Each process trains on its own share of every epoch (DistributedSampler) and
# DistributedDataParallel averages the gradients of all processes at every step, so the weights
# stay identical everywhere, as with one process and an N times larger batch. Only process 0
# (the "main" one) prints and writes files. Run as plain `python`, nothing of this happens.
def start_distributed(requested_device=None):
    """The device of this process; started by torchrun, it also joins the other processes.

    NCCL links the GPUs (one per process, the one of its LOCAL_RANK); gloo links CPU processes.
    """
    device = pick_device(requested_device)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def stop_distributed():
    if dist.is_initialized():
        dist.destroy_process_group()


def is_main_process():
    return not dist.is_initialized() or dist.get_rank() == 0


def for_training(network, device):
    """`network` wrapped in DistributedDataParallel when several processes train; `network` otherwise."""
    if not dist.is_initialized():
        return network
    return DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)


def from_main_process(value, device):
    """The main process's number `value`, the same in every process (each measures its own time)."""
    if not dist.is_initialized():
        return value
    shared = torch.tensor([float(value)], device=device)
    dist.broadcast(shared, src=0)
    return shared.item()


def all_agree(flag, device):
    """The main process's `flag`, the same in every process (they must stop at the same epoch)."""
    return bool(from_main_process(float(flag), device))


def learning_rate_factor(done, decay):
    """The learning rate's multiplier when the fraction `done` of a run is done: 1, then linearly
    towards 0 over the last `decay` of the run."""
    return 1.0 if decay <= 0 else min(1.0, max(0.0, 1.0 - done) / decay)


def loader_workers(device):
    """Processes preparing batches: none on a CPU (its cores train), a few beside a GPU (which waits for them)."""
    return min(4, max(0, (os.cpu_count() or 1) - 1)) if device.type == "cuda" else 0


def fit(step, loader, n_epochs, device, start_epoch=0, history=None, on_epoch_end=None,
        desc="training", progress=True, stop=None, on_epoch_start=None):
    """The training loop, shared by GenVanillaNN and GenGAN.

    step(source, target) -> {loss name: tensor}: one optimisation step on a batch.
    on_epoch_start(epoch): called before every epoch (it sets the learning rate).
    on_epoch_end(epoch, history, seconds): called after every epoch (it saves the files).
    history: one dict {loss name: mean over the epoch} per epoch already done; extended
    and returned. Epochs are numbered from 1; this trains start_epoch+1 .. start_epoch+n_epochs.
    stop(): asked after every epoch; True ends the training early (e.g. a time budget is spent).
    """
    history = [] if history is None else history
    end = start_epoch + n_epochs
    for epoch in range(start_epoch + 1, end + 1):
        if isinstance(loader.sampler, DistributedSampler):
            loader.sampler.set_epoch(epoch)   # a new shuffle each epoch, the same in every process
        if on_epoch_start:
            on_epoch_start(epoch)
        started = time.perf_counter()
        totals, batches = {}, 0
        bar = tqdm(loader, desc=f"{desc} {epoch}/{end}", unit="batch", disable=not progress, leave=False)
        for source, target in bar:
            losses = step(to_device(source, device), to_device(target, device))
            for name, value in losses.items():
                totals[name] = totals.get(name, 0.0) + value.detach()
            batches += 1
            if batches % 10 == 1 or batches == len(loader):   # reading a GPU value waits for it: not every batch
                bar.set_postfix({k: f"{float(v) / batches:.4f}" for k, v in totals.items()})
        bar.close()
        history.append({name: float(total) / max(batches, 1) for name, total in totals.items()})
        seconds = time.perf_counter() - started
        if progress:
            losses = "  ".join(f"{k} {v:.4f}" for k, v in history[-1].items())
            tqdm.write(f"{desc} epoch {epoch}/{end}: {losses}  ({seconds:.1f} s)")
        if on_epoch_end:
            on_epoch_end(epoch, history, seconds)
        if stop and all_agree(stop(), device):
            break
    return history


save_image = write_image


def save_loss_curve(path, history, title):
    """One panel per loss of `history` (a list of dicts, one per epoch), as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure   # no pyplot: no global state, no window
    from matplotlib.ticker import MaxNLocator

    names = list(dict.fromkeys(k for entry in history for k in entry))
    figure = Figure(figsize=(6, 1.2 + 1.8 * len(names)))
    FigureCanvasAgg(figure)
    epochs = np.arange(1, len(history) + 1)
    for row, name in enumerate(names, 1):
        axes = figure.add_subplot(len(names), 1, row)
        axes.plot(epochs, [entry.get(name, np.nan) for entry in history], marker="." if len(history) < 50 else None)
        axes.set_ylabel(name)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
    axes.set_xlabel("epoch")
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=80)


# ====================================================================== 6. the generator
class GenVanillaNN:
    """A target person's image from a skeleton, by a network trained on the target's video.

    videoSkeTgt     the target's VideoSkeleton (its directory receives models/)
    loadFromFile    True: load the trained model <dataset>/models/<name>_<size>.pt
    optSkeOrImage   1: GenNNSke26ToImage (26 numbers in), 2: GenNNSkeImToImage (stick figure in)
    image_size      side of the generated images (default: the dataset's crops; with loadFromFile,
                    the size of the trained model when there is only one)
    device          "cpu", "cuda", ... (default: cuda, then mps, then cpu)
    ngf, dropout    the generator's width and dropout (a loaded model keeps those of its file)
    augment         random joint shift/scale of the training pairs
    model_dir       where the model files go (default: <dataset>/models, DESIGN.md)

    `notes` (a dict) is recorded in the model file as it is, e.g. DanceEval's training split;
    after load(), `loaded_settings` holds everything the file recorded.
    """

    kind = None   # the model's name (NAMES); GenGAN sets "gan"

    def __init__(self, videoSkeTgt, loadFromFile=False, optSkeOrImage=1, image_size=None, device=None,
                 ngf=NGF, dropout=DROPOUT, augment=AUGMENT, model_dir=None):
        if optSkeOrImage not in (1, 2):
            raise DanceError(f"--opt {optSkeOrImage}: choose 1 (skeleton numbers) or 2 (stick figure)")
        self.videoSke = videoSkeTgt
        self.opt = optSkeOrImage
        self.name = self.kind or NAMES[optSkeOrImage]
        models = model_dir or os.path.join(videoSkeTgt.directory, "models")
        self.image_size = self.choose_size(image_size, models if loadFromFile else None)
        self.device = pick_device(device)
        self.augment = augment
        stem = os.path.join(models, f"{self.name}_{self.image_size}")
        self.notes, self.loaded_settings = {}, {}
        self.filename = stem + ".pt"
        self.checkpoint_file = stem + ".ckpt.pt"
        self.loss_file = stem + "_loss.png"
        self.samples_file = stem + "_samples.png"
        self.epochs_done, self.train_seconds = 0, 0.0
        self.network_settings = {"kind": self.name, "opt": self.opt, "image_size": self.image_size,
                                 "ngf": ngf, "dropout": dropout, "version": MODEL_VERSION}
        self.netG = build_generator(self.network_settings)
        self.source_transform = default_source_transform(self.opt, self.image_size)
        if loadFromFile:
            self.load()
        self._place(self.netG)

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

    def _place(self, network):
        """Move a network to the device (channels-last on CUDA)."""
        network.to(self.device)
        if self.device.type == "cuda":
            network.to(memory_format=torch.channels_last)
        return network

    def train_command(self):
        """The command that trains this model (for error messages)."""
        size = "" if self.image_size == self.videoSke.image_size else f" --size {self.image_size}"
        return f"python GenVanilla.py --data {self.videoSke.directory} --opt {self.opt}{size}"

    # ------------------------------------------------------------------ model file
    def training_settings(self):
        """How the network is trained, beyond its architecture (GenGAN adds its losses)."""
        return {"augment": self.augment}

    def settings(self):
        """What the model file records: the network's settings, how it is trained and how far."""
        return dict(self.network_settings, **self.training_settings(), epochs=self.epochs_done,
                    train_seconds=round(self.train_seconds, 1), notes=self.notes,
                    dataset_fingerprint=self.videoSke.fingerprint)

    def check_dataset(self, path, settings, what="model file"):
        """A DanceError when the file at `path` was trained on another dataset than this one (files
        made before datasets were fingerprinted record none, and are taken as they are)."""
        recorded = settings.get("dataset_fingerprint")
        if recorded is not None and recorded != self.videoSke.fingerprint:
            raise DanceError(f"{path}: a {what} trained on another dataset than {self.videoSke.directory} (was "
                             f"the folder prepared again from another video?); train one for this dataset with: "
                             f"{self.train_command()} --restart")

    def set_progress(self, settings):
        """How far the model of these settings (a model file's or a checkpoint's) was trained."""
        self.epochs_done, self.train_seconds = settings.get("epochs", 0), settings.get("train_seconds", 0.0)

    def save(self, path=None):
        save_model(path or self.filename, self.netG, self.settings())

    def load(self, path=None):
        """Load a model file written by save(); a DanceError naming the file when it cannot be used."""
        path = path or self.filename
        if not os.path.isfile(path):
            models = os.path.dirname(path)
            others = [s for s in trained_sizes(models, self.name) if s != self.image_size]
            there = f" ({self.name} models there: {', '.join(map(str, others))} px)" if others else ""
            raise DanceError(f"{path}: no trained model{there}; train one with: {self.train_command()}")
        remedy = f"; train it again with: {self.train_command()} --restart"
        data = read_torch_file(path, remedy=remedy)
        settings = data["settings"]
        try:
            check_settings(path, settings, self.name, self.image_size)
            self.network_settings = {k: settings[k] for k in self.network_settings}
            self.netG = build_generator(self.network_settings)
            load_state(path, self.netG, data.get("state_dict"))
        except (KeyError, TypeError, ValueError) as err:
            raise DanceError(f"{path}: settings that describe no network ({err}){remedy}") from None
        except DanceError as err:
            raise DanceError(f"{err}{remedy}") from None
        self.check_dataset(path, settings)
        self.set_progress(settings)
        self.loaded_settings = settings
        self._place(self.netG)

    # ------------------------------------------------------------------ training
    def make_optimizers(self, lr=LR):
        """Adam for the generator (pix2pix's settings). GenGAN adds the discriminator's.

        trainG is the generator as the training step calls it: netG itself, or netG inside
        DistributedDataParallel under torchrun (the same weights; its backward also averages
        the gradients of all processes).
        """
        self.trainG = for_training(self.netG, self.device)
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=lr, betas=BETAS)

    def train_step(self, source, target):
        """One step on a batch: L1 distance between the generated and the real images."""
        self.optG.zero_grad(set_to_none=True)
        with autocast(self.device):
            fake = self.trainG(source)
        loss = F.l1_loss(fake.float(), target)
        loss.backward()
        self.optG.step()
        return {"l1": loss.detach()}

    def training_state(self):
        """Everything a checkpoint holds besides the epoch count and history."""
        return {"netG": self.netG.state_dict(), "optG": self.optG.state_dict()}

    def load_training_state(self, path, state):
        load_state(path, self.netG, state["netG"])
        self.optG.load_state_dict(state["optG"])

    def save_checkpoint(self, history):
        state = {"settings": self.settings(), "history": history, "state": self.training_state()}
        with atomic_path(self.checkpoint_file) as tmp:
            torch.save(state, tmp)

    def resume(self, lr):
        """The loss history of the checkpoint, whose weights and optimiser state are loaded; [] when none."""
        path = self.checkpoint_file
        if not os.path.isfile(path):
            return []
        restart = "use --restart (train(..., restart=True)) to start again"
        data = read_torch_file(path, "checkpoint", remedy=f"; {restart}")
        settings = data["settings"]
        try:
            check_settings(path, settings, self.name, self.image_size, "checkpoint")
            recorded = settings.get("dataset_fingerprint")
            if recorded is not None and recorded != self.videoSke.fingerprint:
                raise DanceError(f"{path}: a checkpoint trained on another dataset than {self.videoSke.directory}")
            different = [f"{k} {settings.get(k)} there, {v} here" for k, v in self.network_settings.items()
                         if settings.get(k) != v]
            if different:
                raise DanceError(f"{path}: a checkpoint of another network ({'; '.join(different)})")
            self.load_training_state(path, data["state"])
        except DanceError as err:
            raise DanceError(f"{err}; {restart}") from None
        except (KeyError, ValueError, RuntimeError, TypeError) as err:
            raise DanceError(f"{path}: not a usable checkpoint ({type(err).__name__}: {err}); {restart}") from None
        for optimizer in self.optimizers():
            for group in optimizer.param_groups:
                group["lr"] = lr
        self.set_progress(settings)
        return list(data["history"])

    def optimizers(self):
        return [self.optG]

    def train(self, n_epochs=EPOCHS, restart=False, batch_size=BATCH, lr=LR, progress=True, indices=None,
              max_seconds=None, after_epoch=None):
        """Train until the model has n_epochs epochs in all, resuming from the checkpoint unless restart=True.

        n_epochs counts every epoch since the start, those of the checkpoint included, so running the
        same command again after an interruption finishes the same run; a larger n_epochs trains more.

        restart=True ignores the checkpoint: the network keeps the weights it has (new ones
        for a new GenVanillaNN, those of the model file with loadFromFile=True).

        After every epoch: the checkpoint, the model file, the loss curve and the sample grid.
        indices: train on these items of the dataset only (default: all).
        max_seconds: a budget for the total training time (the checkpoint's included): stop when one
            more epoch, as long as the last one, would pass it (at least one epoch is trained).
        The learning rate is lr, then falls towards 0 over the last LR_DECAY of the n_epochs (or of
        the time budget, when that comes first).
        after_epoch(self): called after every epoch, once the files are saved.
        Returns the loss history (one dict per epoch since the start).
        """
        dataset = VideoSkeletonDataset(self.videoSke, optSkeOrImage=self.opt, image_size=self.image_size,
                                       source_transform=self.source_transform, augment=self.augment,
                                       indices=indices)
        workers = loader_workers(self.device)
        # Under torchrun each process takes its own share of the items (batch_size is per process).
        sampler = DistributedSampler(dataset, shuffle=True) if dist.is_initialized() else None
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=sampler is None, sampler=sampler,
                            drop_last=len(dataset) > batch_size, num_workers=workers,
                            persistent_workers=workers > 0, pin_memory=self.device.type == "cuda")
        main = is_main_process()
        self.netG.train()
        self.make_optimizers(lr)
        if restart:
            self.set_progress({})
            history = []
        else:
            history = self.resume(lr)
        samples = np.linspace(0, len(dataset) - 1, min(SAMPLE_COUNT, len(dataset))).round().astype(int)
        if self.epochs_done >= n_epochs:   # already done: the model file is written again from the checkpoint
            if main:
                self.save()
                if progress:
                    tqdm.write(f"{self.name}: the checkpoint has {self.epochs_done} epochs of the {n_epochs} asked: "
                               f"nothing to train (a larger --epochs trains more)")
            return history

        last_epoch_seconds = 0.0

        def set_learning_rate(epoch):   # by how much of the run will be done half way through this epoch
            done = (epoch - 0.5) / n_epochs
            if max_seconds is not None:
                done = max(done, (self.train_seconds + last_epoch_seconds / 2) / max(max_seconds, 1e-9))
            factor = from_main_process(learning_rate_factor(done, LR_DECAY), self.device)   # times differ a little per process
            for optimizer in self.optimizers():
                for group in optimizer.param_groups:
                    group["lr"] = lr * factor

        def end_of_epoch(epoch, history, seconds):
            nonlocal last_epoch_seconds
            last_epoch_seconds = seconds
            self.epochs_done, self.train_seconds = epoch, self.train_seconds + seconds
            if not main:   # the weights are the same in every process: one writes them
                return
            self.save_checkpoint(history)
            self.save()
            save_loss_curve(self.loss_file, history, f"{self.name} {self.image_size} px")
            save_image(self.samples_file, self.sample_grid(dataset, samples))
            if after_epoch:
                after_epoch(self)
                self.netG.train()   # after_epoch may have generated images (eval mode)

        def out_of_time():
            return max_seconds is not None and self.train_seconds + last_epoch_seconds > max_seconds

        fit(self.train_step, loader, n_epochs - self.epochs_done, self.device, start_epoch=self.epochs_done, history=history,
            on_epoch_end=end_of_epoch, desc=self.name, progress=progress and main, stop=out_of_time,
            on_epoch_start=set_learning_rate)
        return history

    def sample_grid(self, dataset, items):
        """One row per item: stick figure | generated | real (BGR uint8), without augmentation."""
        rows, was_training = [], self.netG.training
        for i in items:
            ske, real = dataset.pair(i, augment=False)
            figure = stick_figure(ske, self.image_size)
            rows.append(np.hstack([figure, self.generate(ske), cv2.cvtColor(real, cv2.COLOR_RGB2BGR)]))
        self.netG.train(was_training)
        zoom = max(1, SAMPLE_CELL // self.image_size)   # small images are enlarged to be seen
        return cv2.resize(np.vstack(rows), None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)

    # ------------------------------------------------------------------ generation
    def generation_mode(self):
        """netG as generate() runs it: eval mode (GenGAN keeps pix2pix's dropout on)."""
        self.netG.eval()

    def generate(self, ske):
        """The target's image for the pose `ske` (a Skeleton): BGR uint8, image_size x image_size x 3."""
        if not isinstance(ske, Skeleton):
            ske = Skeleton.from_reduced(ske)   # also accept the 26 numbers
        self.generation_mode()
        with torch.inference_mode(), autocast(self.device, training=False):
            source = to_device(self.source_transform(ske).unsqueeze(0), self.device)
            return tensor_to_image(self.netG(source))


# ====================================================================== the command line
def add_training_arguments(parser, data=DATA, epochs=EPOCHS):
    """The flags GenVanilla.py and GenGAN.py share."""
    parser.add_argument("--data", default=data,
                        help=f"the target's prepared dataset directory, or a video to prepare first (default: {data})")
    parser.add_argument("--epochs", type=int, default=epochs,
                        help="epochs in all, those of the checkpoint included: running the same command again "
                             "after an interruption finishes the run; a larger number trains more (default: %(default)s)")
    parser.add_argument("--size", type=int, default=IMAGE_SIZE,
                        help="side of the generated images, a power of two such as 64 or 128 "
                             "(default: the size of the dataset's crops)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps... (default: cuda, then mps, then cpu)")
    parser.add_argument("--restart", action="store_true", help="ignore the checkpoint and train from scratch")
    parser.add_argument("--batch", type=int, default=BATCH, help="images per optimisation step (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=LR, help="Adam's learning rate (default: %(default)s)")
    parser.add_argument("--ngf", type=int, default=NGF, help="width of the generator (default: %(default)s)")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=AUGMENT,
                        help="random joint shift/scale of image and skeleton while training, for a moving "
                             "camera (default: %(default)s)")


def open_dataset(data, default=DATA):
    """VideoSkeleton(data), with the way to make the default sample when it is missing."""
    if data == default and not os.path.exists(data):
        raise DanceError(f"{data}: no such dataset; make the project's sample with `python VideoSkeleton.py` "
                         f"(it prepares data/sample/sample_target.mp4 into {default}), or pass --data DIR")
    return VideoSkeleton(data)


def check_training_arguments(args):
    for flag in ("epochs", "batch", "ngf"):
        if getattr(args, flag) < 1:
            raise DanceError(f"--{flag} {getattr(args, flag)}: must be at least 1")
    if not args.lr > 0:
        raise DanceError(f"--lr {args.lr}: must be positive")
    if args.size is not None:
        power_of_two_levels(args.size)   # before the dataset is loaded


def train_from_command_line(gen, args, what=None):
    """Train `gen` as the shared flags say, and report where its files are (in one process under torchrun)."""
    try:
        main = is_main_process()
        if main:
            processes = f" x {dist.get_world_size()} processes" if dist.is_initialized() else ""
            print(f"training {what or gen.name} at {gen.image_size} px on {gen.device}{processes}, "
                  f"{len(gen.videoSke)} images")
        history = gen.train(args.epochs, restart=args.restart, batch_size=args.batch, lr=args.lr)
        if main:
            last = ", ".join(f"{k} {v:.4f}" for k, v in history[-1].items()) if history else "-"
            print(f"{gen.name}: {gen.epochs_done} epochs, last loss {last}; model {shown(gen.filename)}, "
                  f"curve {shown(gen.loss_file)}, samples {shown(gen.samples_file)}")
    finally:
        stop_distributed()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the target's generator GenVanillaNN (option 1 or 2).")
    add_training_arguments(parser)
    parser.add_argument("--opt", type=int, choices=(1, 2), default=OPT,
                        help="1: 26 skeleton numbers -> image, 2: stick figure -> image (default: %(default)s)")
    args = parser.parse_args(argv)
    check_training_arguments(args)
    gen = GenVanillaNN(open_dataset(args.data), optSkeOrImage=args.opt, image_size=args.size,
                       device=start_distributed(args.device), ngf=args.ngf, augment=args.augment)
    train_from_command_line(gen, args)
    return 0


if __name__ == "__main__":
    run_cli(main)

"""Generate a target person's image from a pose with a neural network, trained on the target's video.

    python GenVanilla.py [--data DIR] [--opt 1|2] [--minutes M | --epochs N] [--size S] [--device D] [--restart]
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
    gen.train(10)                       # up to 10 epochs in all (resumes from the checkpoint if there is one)
    image = gen.generate(ske)           # BGR uint8, size x size x 3
    gen = GenVanillaNN(vs, loadFromFile=True, optSkeOrImage=2)   # later: the trained model

The parts live apart, as pix2pix / CycleGAN keep theirs: the data (transforms, dataset, image <->
tensor conversions) is DanceDataset.py's; this file holds the networks and GenVanillaNN (build,
optimiser, train_step, generate). The training loop, checkpoints, model files and the trainers'
flags are DanceTrain.py's;
GenGAN.py reuses this file and only adds a discriminator and its losses.
"""
import argparse
import copy
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

import DanceTrain
from DanceTrain import (BATCH, BETAS, EPOCHS, LR, add_training_arguments, autocast, check_training_arguments,
                        for_training, open_dataset, start_distributed, to_device, train_from_command_line)
from DanceDataset import (SkeToImageTransform, SkeToVectorTransform, VideoSkeletonDataset, default_source_transform,
                          image_to_tensor, tensor_to_image)
from DanceUtils import DanceError, blend, pick_device, run_cli
from ModelFile import (MODEL_VERSION, TrainedGenerator, check_settings, load_state, power_of_two_levels, read_torch_file,
                       trained_sizes)
from Skeleton import Skeleton

# The course's names, importable from here as its text does (the dataset and transforms live in DanceDataset.py).
__all__ = ["GenVanillaNN", "GenNNSke26ToImage", "GenNNSkeImToImage", "VideoSkeletonDataset", "SkeToImageTransform",
           "SkeToVectorTransform"]

# The course's switches for `python GenVanilla.py` (flags override them; DanceTrain.py has the shared
# ones: --data, --minutes, --epochs, --batch, --lr...).
OPT = 2                       # 1: 26 numbers -> image, 2: stick figure -> image
NGF = 32                      # width of the generators: channels of their outermost layer (pix2pix uses 64,
                              # 32 trains about 4x faster on a CPU and is enough at 128 px)
AUGMENT = False               # random joint shift/scale of image and skeleton while training. Off: a dance
                              # video's camera stands still, and a shifted background, which no pose
                              # predicts, teaches the network to blur it (docs/BENCHMARKS.md)
# Inside the networks (rarely changed).
UPSAMPLE = "resize"           # how the U-Net's decoder doubles the size: one of UPSAMPLINGS (see `upsample`)
DROPOUT = 0.0                 # dropout in the U-Net's innermost decoder blocks (pix2pix: 0.5, as noise for a GAN)
MASK_WEIGHT = 0.1             # with a plate: weight of the opacity's L1 distance to the person's mask, relative
                              # to the image's L1 weight: light, so the network may still draw what the mask
                              # misses (a shadow, a loose sleeve), but the opacity starts right
OPTION_NAMES = {1: "vanilla_ske", 2: "vanilla_image"}  # the model's name of each option (DanceGenerators.py)
TRAINERS = {name: f"python GenVanilla.py --opt {opt}" for opt, name in OPTION_NAMES.items()}  # the command of each
# What model files written before a setting existed meant by its absence.
OLDER_FILES = {"plate": False, "upsample": "transpose", "dropout": 0.0}


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


class GenNNSke26ToImage(nn.Module):
    """Option 1: the 26 numbers of a reduced skeleton -> an RGB image in [-1, 1].

    Two linear layers turn the pose into a 4x4 map of ngf*8 channels. Each block then
    doubles the size (nearest upsampling + 3x3 convolution, which avoids the checkerboard
    of transposed convolutions) and halves the channels (not below ngf), with batch norm and
    ReLU as in DCGAN, until image_size; a last 3x3 convolution gives 3 channels, tanh [-1, 1].
    """

    def __init__(self, image_size=128, ngf=NGF, input_dim=26, hidden=256, out_channels=3):
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
        layers += [nn.Conv2d(c, out_channels, 3, padding=1), nn.Tanh()]
        self.decoder = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, ske):
        """ske: (B, 26) joint coordinates in 0..1 -> (B, out_channels, S, S)."""
        x = self.fc(ske * 2 - 1)   # centre the coordinates on 0
        return self.decoder(x.view(-1, self.channels, 4, 4))


def down_block(c_in, c_out, norm=True, activation="leaky"):
    """Encoder step: 4x4 convolution of stride 2 (halves the size) [+ instance norm] + activation."""
    layers = [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=not norm)]
    if norm:
        layers.append(nn.InstanceNorm2d(c_out, affine=True))
    layers.append(nn.LeakyReLU(0.2, True) if activation == "leaky" else nn.ReLU(True))
    return nn.Sequential(*layers)


UPSAMPLINGS = ("resize", "nearest", "transpose")


def check_upsample(how):
    """`how` when it is one of UPSAMPLINGS, else a DanceError."""
    if how not in UPSAMPLINGS:
        raise DanceError(f"upsample {how!r}: not a U-Net decoder; choose one of {', '.join(UPSAMPLINGS)}")
    return how


def upsample(c_in, c_out, how, bias=False, last=False):
    """Double the size and change the channels.

    "resize": a 3x3 convolution at the smaller size, then a bilinear enlargement. Every output
    pixel is made the same way, so there is no checkerboard (Odena et al., "Deconvolution and
    Checkerboard Artifacts", 2016), and it is the cheapest (9 multiplications per small pixel and
    pair of channels), but the four pixels of each 2x2 block share one computed value.
    "nearest": Odena et al.'s resize-convolution, a nearest-neighbour enlargement then a 3x3
    convolution (`NearestUpConv2d`): each pixel of a block gets its own kernel, and no checkerboard
    (16 multiplications, as a transposed convolution).
    "transpose": pix2pix's 4x4 transposed convolution of stride 2, whose 16 free taps leave a grid
    pattern; kept so that the model files trained with it still load.
    The last step (`last`) of "resize" is "nearest", so that the image itself is drawn at full
    resolution.
    """
    if how == "transpose":
        return [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=bias)]
    if how == "nearest" or last:
        return [NearestUpConv2d(c_in, c_out, bias=bias)]
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)]


class NearestUpConv2d(nn.Conv2d):
    """A 2x nearest-neighbour enlargement, then this 3x3 convolution: computed at the small size.

    In the enlarged map each pixel is repeated over a 2x2 block, so the output row 2r + a (a = 0
    or 1) reads, through its kernel's rows dy = -1, 0, 1, the small map's rows
    r + floor((a + dy) / 2): row 2r reads r-1, r, r and row 2r + 1 reads r, r, r+1. Each output
    row thus reads two rows of the small map, with the kernel's rows summed where they land on the
    same one: exactly what a transposed 4x4 convolution of stride 2 computes, whose taps k = 3 and
    1 make the even rows (from r-1 and r) and k = 2 and 0 the odd ones (from r and r+1). So the
    3x3 kernel folds into a 4x4 transposed kernel (TAPS; the same for the columns), and one
    transposed convolution gives the enlarged result without the 4x larger map in memory (the
    same result, 16 multiplications per small pixel and pair of channels instead of 36). Unlike
    pix2pix's free 4x4 kernel, the two rows of taps of each output row sum to the same three
    kernel rows, so a flat input gives a flat output: no checkerboard.
    """

    # TAPS[k][i] = 1 where the 3x3 kernel's row i lands on row k of the transposed 4x4 kernel.
    TAPS = ((0, 0, 1), (0, 1, 1), (1, 1, 0), (1, 0, 0))

    def __init__(self, c_in, c_out, bias=True):
        super().__init__(c_in, c_out, 3, padding=1, bias=bias)
        taps = torch.tensor(self.TAPS, dtype=torch.float32)
        # FOLD[4k + l, 3i + j] = TAPS[k][i] * TAPS[l][j]: the 9 weights of a kernel -> its 16 taps.
        self.register_buffer("fold", torch.kron(taps, taps), persistent=False)
        self._generation_kernel = (None, None)   # (the weights' version, their fold): see forward

    def transposed_kernel(self):
        """The weights folded into conv_transpose2d's (in, out, 4, 4) kernel: one small matrix product."""
        weight = self.weight.transpose(0, 1).reshape(-1, 9)
        return (weight @ self.fold.to(weight.dtype).T).reshape(self.in_channels, self.out_channels, 4, 4)

    def forward(self, x):
        if torch.is_grad_enabled():
            kernel = self.transposed_kernel()
        else:   # generating: fold once, until the weights change (folding anew every frame would
                # cost more than the layer itself)
            version = (self.weight._version, self.weight.data_ptr(), self.weight.dtype)
            if self._generation_kernel[0] != version:
                self._generation_kernel = (version, self.transposed_kernel())
            kernel = self._generation_kernel[1]
        return F.conv_transpose2d(x, kernel, self.bias, stride=2, padding=1)


def up_block(c_in, c_out, dropout=0.0, how="resize"):
    """Decoder step: double the size (upsample) + instance norm + ReLU [+ dropout]."""
    layers = upsample(c_in, c_out, how) + [nn.InstanceNorm2d(c_out, affine=True), nn.ReLU(True)]
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
    adds dropout to the decoder's 3 innermost blocks (pix2pix's noise for a GAN). The decoder
    upsamples by `upsample_how`, one of UPSAMPLINGS (see `upsample`).
    With a background plate the input is the stick figure and the plate's crop (6 channels) and
    the output the person's colours and opacity (4 channels).
    """

    def __init__(self, image_size=128, ngf=NGF, in_channels=3, out_channels=3, dropout=DROPOUT, upsample_how=UPSAMPLE):
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
            self.ups.append(up_block(c_in, chans[i - 1], dropout if i >= levels - 3 else 0.0, upsample_how))
        self.last = nn.Sequential(*upsample(2 * chans[0], out_channels, upsample_how, bias=True, last=True), nn.Tanh())
        init_weights(self)

    def _load_from_state_dict(self, state_dict, prefix, *args):
        # The first files of decoder "resize" kept the enlargement as a layer of its own, so their
        # last convolution is called last.1; it is last.0 now (NearestUpConv2d does both).
        for name in ("weight", "bias"):
            if f"{prefix}last.1.{name}" in state_dict:
                state_dict[f"{prefix}last.0.{name}"] = state_dict.pop(f"{prefix}last.1.{name}")
        super()._load_from_state_dict(state_dict, prefix, *args)

    def forward(self, image):
        """image: (B, in_channels, S, S) stick figures [and plate crops] in [-1, 1] -> (B, out_channels, S, S)."""
        skips = []
        x = image
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()                                     # the bottleneck itself is x
        for up in self.ups:
            x = torch.cat([up(x), skips.pop()], dim=1)
        return self.last(x)


def check_network_settings(settings):
    """A ValueError naming the first of `settings` that no network can have.

    A model file's settings (edited by hand, or written by other code) are checked before a network
    is built from them: torch's own errors for a width of -1 or 10**5 are tracebacks, or an attempt
    to allocate a terabyte. GenVanillaNN.load turns the ValueError into one line naming the file.
    """
    def whole(value, low, high):
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    if not whole(settings["opt"], 1, 2):
        raise ValueError(f"opt {settings['opt']!r}: not 1 or 2")
    for key in ("ngf", "ndf"):   # ndf: GenGAN's discriminator
        if key in settings and not whole(settings[key], 1, DanceTrain.MAX_WIDTH):
            raise ValueError(f"{key} {settings[key]!r}: not a whole number from 1 to {DanceTrain.MAX_WIDTH}")
    dropout = settings.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout {dropout!r}: not a number from 0 to below 1")
    if not isinstance(settings.get("plate", False), bool):
        raise ValueError(f"plate {settings['plate']!r}: not true or false")
    if settings.get("upsample", "transpose") not in UPSAMPLINGS:
        raise ValueError(f"upsample {settings['upsample']!r}: not one of {', '.join(UPSAMPLINGS)}")


def build_generator(settings):
    """The generator network described by a model file's settings (older files: no plate, transposed
    convolutions); a ValueError for settings that describe no network (check_network_settings)."""
    check_network_settings(settings)
    plate = settings.get("plate", False)
    out_channels = 4 if plate else 3          # with a plate: the person's colours and opacity
    if settings["opt"] == 1:
        return GenNNSke26ToImage(settings["image_size"], settings["ngf"], out_channels=out_channels)
    return GenNNSkeImToImage(settings["image_size"], settings["ngf"], in_channels=6 if plate else 3,
                             out_channels=out_channels, dropout=settings.get("dropout", 0.0),
                             upsample_how=settings.get("upsample", "transpose"))


def composite(output, background):
    """The person the network drew over the background: output (B, 4, S, S) = colours and opacity in
    [-1, 1], background (B, 3, S, S) -> (image (B, 3, S, S), opacity (B, 1, S, S) in 0..1)."""
    alpha = (output[:, 3:4] + 1) / 2
    return alpha * output[:, :3] + (1 - alpha) * background, alpha


# ====================================================================== 4. the generator
class GenVanillaNN(TrainedGenerator):
    """A target person's image from a skeleton, by a network trained on the target's video.

    videoSkeTgt     the target's VideoSkeleton (its directory receives models/)
    loadFromFile    True: load the trained model <dataset>/models/<name>_<size>.pt
    optSkeOrImage   1: GenNNSke26ToImage (26 numbers in), 2: GenNNSkeImToImage (stick figure in)
    image_size      side of the generated images (default: the dataset's crops; with loadFromFile,
                    the size of the trained model when there is only one)
    device          "cpu", "cuda", ... (default: cuda, then mps, then cpu)
    ngf, dropout    the generator's width and dropout (a loaded model keeps those of its file)
    augment         random joint shift/scale of the training pairs
    upsample        the U-Net decoder's upsampling, one of UPSAMPLINGS (see `upsample`): "resize"
                    (no checkerboard, cheapest), "nearest" (no checkerboard, a kernel per pixel) or
                    "transpose" (pix2pix's, to compare)
    plate           draw the person over the dataset's background plate (colours and an opacity,
                    composited over the plate's crop); default: when the dataset has a plate. A
                    loaded model keeps its file's choice.
    model_dir       where the model files go (default: <dataset>/models, docs/DESIGN.md)

    `notes` (a dict) is recorded in the model file as it is, e.g. DanceEval's training split;
    after load(), `loaded_settings` holds everything the file recorded.
    """

    name = None   # the model's one name (DanceGenerators.py): OPTION_NAMES[optSkeOrImage]; GenGAN's is "gan"

    def __init__(self, videoSkeTgt, loadFromFile=False, optSkeOrImage=1, image_size=None, device=None,
                 ngf=NGF, dropout=DROPOUT, augment=AUGMENT, model_dir=None, plate=None, upsample=UPSAMPLE):
        if optSkeOrImage not in (1, 2):
            raise DanceError(f"--opt {optSkeOrImage}: choose 1 (skeleton numbers) or 2 (stick figure)")
        check_upsample(upsample)
        self.videoSke = videoSkeTgt
        self.opt = optSkeOrImage
        self.name = self.name or OPTION_NAMES[optSkeOrImage]
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
        has_plate = getattr(videoSkeTgt, "has_plate", False)
        if plate and not has_plate:
            raise DanceError(f"{videoSkeTgt.directory}: no background plate (a moving camera, or prepared "
                             f"without one): train without the plate")
        self.plate = has_plate if plate is None else bool(plate)
        self.network_settings = {"kind": self.name, "opt": self.opt, "image_size": self.image_size,
                                 "ngf": ngf, "dropout": dropout, "plate": self.plate, "upsample": upsample,
                                 "version": MODEL_VERSION}
        self.netG = build_generator(self.network_settings)
        self.weight_average = DanceTrain.WEIGHT_AVERAGE   # decay of the weights' moving average; 0: none
        self.netG_average, self.average_steps = None, 0   # made by make_optimizers
        self.source_transform = default_source_transform(self.opt, self.image_size)
        if loadFromFile:
            self.load()
        self._place(self.netG)

    def _place(self, network):
        """Move a network to the device (channels-last on CUDA)."""
        network.to(self.device)
        if DanceTrain.CHANNELS_LAST and self.device.type == "cuda":
            network.to(memory_format=torch.channels_last)
        return network

    def trainer(self):
        """The script (and its option) that trains this model."""
        return TRAINERS[self.name]

    # ------------------------------------------------------------------ model file (see also ModelFile.TrainedGenerator)
    def training_settings(self):
        """How the network is trained, beyond its architecture (GenGAN adds its losses)."""
        return {"augment": self.augment}

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
            self.check_file(path, settings)   # trained on this dataset
            self.network_settings = {k: settings[k] if k in settings else OLDER_FILES[k] for k in self.network_settings}
            if self.network_settings["opt"] != self.opt:   # the kind says which option; a file must agree
                raise ValueError(f"opt {self.network_settings['opt']!r}, but a {self.name} model has opt {self.opt}")
            self.netG = build_generator(self.network_settings)
            self.plate = self.network_settings["plate"]
            if self.plate and not getattr(self.videoSke, "has_plate", False):
                raise DanceError(f"{path}: trained over a background plate that {self.videoSke.directory} has not")
            load_state(path, self.netG, data.get("state_dict"))
        except (KeyError, TypeError, ValueError) as err:
            raise DanceError(f"{path}: settings that describe no network ({err}){remedy}") from None
        except DanceError as err:
            raise DanceError(f"{err}{remedy}") from None
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
        self.netG_average, self.average_steps = None, 0
        if self.weight_average > 0:
            self.netG_average = copy.deepcopy(self.netG).requires_grad_(False)

    def average_weights(self):
        """After each optimisation step: netG_average moves towards netG (DanceTrain.update_average)."""
        if self.netG_average is not None:
            DanceTrain.update_average(self.netG_average, self.netG, self.average_steps, self.weight_average)
            self.average_steps += 1

    def generating_network(self):
        """The network that generate() runs and the model file holds: the running average of the
        trained weights where there is one (while and after training), else netG."""
        return self.netG if self.netG_average is None else self.netG_average

    def image_of(self, output, target):
        """(the generated image of a batch, the opacity's L1 distance to the mask (0 without a plate)).

        With a plate the network gives the person's colours and opacity, composited over the plate's
        crop (target's channels 4-6); the mask (channel 3) supervises the opacity, lightly (MASK_WEIGHT).
        """
        if not self.plate:
            return output, torch.zeros((), device=output.device)
        image, alpha = composite(output, target[:, 4:7])
        return image, F.l1_loss(alpha, (target[:, 3:4] + 1) / 2)

    def train_step(self, source, target):
        """One step on a batch: L1 distance between the generated and the real images."""
        self.optG.zero_grad(set_to_none=True)
        with autocast(self.device):
            output = self.trainG(source)
        fake, mask_error = self.image_of(output.float(), target)
        loss = F.l1_loss(fake, target[:, :3])
        (loss + MASK_WEIGHT * mask_error).backward()
        self.optG.step()
        return dict({"l1": loss.detach()}, **({"mask": mask_error.detach()} if self.plate else {}))

    def training_state(self):
        """Everything a checkpoint holds besides the epoch count and history."""
        state = {"netG": self.netG.state_dict(), "optG": self.optG.state_dict()}
        if self.netG_average is not None:
            state.update(netG_average=self.netG_average.state_dict(), average_steps=self.average_steps)
        return state

    def load_training_state(self, path, state):
        load_state(path, self.netG, state["netG"])
        self.optG.load_state_dict(state["optG"])
        if self.netG_average is not None:   # a checkpoint written before the average starts it from netG
            load_state(path, self.netG_average, state.get("netG_average", state["netG"]))
            self.average_steps = int(state.get("average_steps", 0))

    def optimizers(self):
        return [self.optG]

    def make_dataset(self, indices=None):
        """The training pairs (all items of the dataset, or only `indices`)."""
        return VideoSkeletonDataset(self.videoSke, optSkeOrImage=self.opt, image_size=self.image_size,
                                    source_transform=self.source_transform, augment=self.augment, indices=indices,
                                    plate=self.plate)

    def train(self, n_epochs=EPOCHS, restart=False, batch_size=BATCH, lr=LR, progress=True, indices=None,
              max_seconds=None, after_epoch=None):
        """Train until the network has n_epochs epochs in all (resuming from its checkpoint): see DanceTrain.train."""
        return DanceTrain.train(self, n_epochs, restart, batch_size, lr, progress, indices, max_seconds, after_epoch)

    # ------------------------------------------------------------------ generation
    def generation_mode(self):
        """The generating network as generate() runs it: eval mode (GenGAN keeps pix2pix's dropout on)."""
        self.generating_network().eval()

    def generate(self, ske, box=None, view=None):
        """The target's image for the pose `ske` (a Skeleton): BGR uint8, image_size x image_size x 3.

        With a plate: the person drawn over the plate's crop at `box` (x0, y0, side, side in the plate's
        pixels; default: the dataset's typical box), or in a frame's pixels seen through that frame's
        `view` (VideoSkeleton.view: its camera and exposure)."""
        person, alpha, background = self.generate_layers(ske, box, view)
        return person if alpha is None else blend(person, alpha, background)

    def generate_layers(self, ske, box=None, view=None):
        """(person's colours BGR uint8, opacity float32 (S, S) in 0..1, the plate's crop BGR uint8) for
        the pose `ske`; without a plate (the generated image, None, None). DanceDemo's scene pastes the
        colours into the full-resolution plate through the opacity."""
        if not isinstance(ske, Skeleton):
            ske = Skeleton.from_reduced(ske)   # also accept the 26 numbers
        self.generation_mode()
        source, background = self.source_transform(ske).unsqueeze(0), None
        if self.plate:
            box = self.videoSke.typical_box() if box is None else box
            background = self.videoSke.plate_crop(box, self.image_size, view=view)
            if self.opt == 2:
                source = torch.cat([source, image_to_tensor(background).unsqueeze(0)], dim=1)
        with torch.inference_mode(), autocast(self.device, training=False):
            output = self.generating_network()(to_device(source, self.device)).float()
        if not self.plate:
            return tensor_to_image(output), None, None
        alpha = ((output[0, 3] + 1) / 2).clamp(0, 1).cpu().numpy()
        return tensor_to_image(output[:, :3]), alpha, background


# ====================================================================== the command line
def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the target's generator GenVanillaNN (option 1 or 2).")
    add_training_arguments(parser, ngf=NGF, augment=AUGMENT)
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

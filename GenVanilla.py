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
tensor conversions) is DanceDataset.py's, the networks are DanceNetworks.py's; this file holds
GenVanillaNN (build, optimiser, train_step, generate). The training loop, checkpoints, model files and the trainers'
flags are DanceTrain.py's;
GenGAN.py reuses this file and only adds a discriminator and its losses.
"""
import argparse
import copy
import os

import numpy as np
import torch
import torch.nn.functional as F

import DanceTrain
from DanceTrain import (BATCH, BETAS, EPOCHS, LR, add_training_arguments, autocast, check_training_arguments,
                        for_training, open_dataset, start_distributed, to_device, train_from_command_line)
from DanceDataset import (SkeToImageTransform, SkeToVectorTransform, VideoSkeletonDataset, default_source_transform,
                          image_to_tensor, tensor_to_image)
from DanceUtils import DanceError, blend, fit_size, pick_device, run_cli
from DanceNetworks import (GenNNSke26ToImage, GenNNSkeImToImage, build_enhancer, build_generator, check_upsample,
                           composite, enlarge)
from ModelFile import MODEL_VERSION, TrainedGenerator, check_settings, load_state, read_torch_file, trained_sizes
from Skeleton import Skeleton

# The course's names, importable from here as its text does (the dataset and transforms live in DanceDataset.py).
__all__ = ["GenVanillaNN", "GenNNSke26ToImage", "GenNNSkeImToImage", "VideoSkeletonDataset", "SkeToImageTransform",
           "SkeToVectorTransform"]

# The course's switches for `python GenVanilla.py` (flags override them; DanceTrain.py has the shared
# ones: --data, --minutes, --epochs, --batch, --lr...).
OPT = 2                       # 1: 26 numbers -> image, 2: stick figure -> image
NGF = 32                      # width of the generators: channels of their outermost layer (pix2pix uses 64,
                              # 32 trains about 4x faster on a CPU and is enough at 128 px)
MIDDLE_BLOCKS = 0             # the course's last two ideas for the U-Net (DanceNetworks.GenNNSkeImToImage):
ATTENTION = False             # residual blocks and self-attention at its 8x8 middle (docs/BENCHMARKS.md)
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
OLDER_FILES = {"plate": False, "upsample": "transpose", "dropout": 0.0, "middle_blocks": 0, "attention": False,
               "enhance_size": 0}


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
                 ngf=NGF, dropout=DROPOUT, augment=AUGMENT, model_dir=None, plate=None, upsample=UPSAMPLE,
                 middle_blocks=MIDDLE_BLOCKS, attention=ATTENTION, enhance_size=0):
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
                                 "middle_blocks": middle_blocks, "attention": attention,
                                 "enhance_size": self.enhance_size_for(enhance_size), "version": MODEL_VERSION}
        self.netG = build_generator(self.network_settings)
        self.netE = build_enhancer(self.network_settings)   # GenGAN's coarse to fine: None without
        self.weight_average = DanceTrain.WEIGHT_AVERAGE   # decay of the weights' moving average; 0: none
        self.netG_average, self.average_steps = None, 0   # made by make_optimizers
        self.source_transform = default_source_transform(self.opt, self.image_size)
        if loadFromFile:
            self.load()
        self._place_networks()

    def enhance_size_for(self, asked):
        """The enhancer's side for `asked`, the most it may be (0: none): 4 or 2 times image_size, the
        larger that neither `asked` nor the dataset's sharp crops (the enhancer learns from them) are
        smaller than; 0 where neither fits (a small person, a dataset prepared before sharp crops)."""
        most = min(asked or 0, getattr(self.videoSke, "high_size", 0))
        fits = [factor * self.image_size for factor in (4, 2) if factor * self.image_size <= most]
        return fits[0] if fits and self.opt == 2 else 0

    def _place_networks(self):
        """The generator and its enhancer on the device; the enhancer in channels-last memory, where its
        convolutions run a third faster, on a CPU too."""
        self._place(self.netG)
        if self.netE is not None:
            self._place(self.netE).to(memory_format=torch.channels_last)

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
            self.netE = build_enhancer(self.network_settings)
            if self.netE is not None:
                load_state(path, self.netE, data.get("enhancer"))
        except (KeyError, TypeError, ValueError) as err:
            raise DanceError(f"{path}: settings that describe no network ({err}){remedy}") from None
        except DanceError as err:
            raise DanceError(f"{err}{remedy}") from None
        self.set_progress(settings)
        self.loaded_settings = settings
        self._place_networks()

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

    def dataset_options(self):
        """More options of the training data (GenGAN's enhancer's patches)."""
        return {}

    def make_dataset(self, indices=None):
        """The training pairs (all items of the dataset, or only `indices`)."""
        return VideoSkeletonDataset(self.videoSke, optSkeOrImage=self.opt, image_size=self.image_size,
                                    source_transform=self.source_transform, augment=self.augment, indices=indices,
                                    plate=self.plate, **self.dataset_options())

    def train(self, n_epochs=EPOCHS, restart=False, batch_size=BATCH, lr=LR, progress=True, indices=None,
              max_seconds=None, after_epoch=None):
        """Train until the network has n_epochs epochs in all (resuming from its checkpoint): see DanceTrain.train."""
        return DanceTrain.train(self, n_epochs, restart, batch_size, lr, progress, indices, max_seconds, after_epoch)

    # ------------------------------------------------------------------ generation
    @property
    def sharp_size(self):
        """The side of the sharp person (the LocalEnhancer's), 0 without one: see generate(size=)."""
        return self.network_settings.get("enhance_size", 0) if self.netE is not None else 0

    def other_networks(self):
        """The networks the model file holds beside the generator, by name: the enhancer, where there is one."""
        return {} if self.netE is None else {"enhancer": self.netE}

    def generation_mode(self):
        """The generating network as generate() runs it: eval mode (GenGAN keeps pix2pix's dropout on)."""
        self.generating_network().eval()

    def generate(self, ske, box=None, view=None, size=None):
        """The target's image for the pose `ske` (a Skeleton): BGR uint8, image_size x image_size x 3.

        With a plate: the person drawn over the plate's crop at `box` (x0, y0, side, side in the plate's
        pixels; default: the dataset's typical box), or in a frame's pixels seen through that frame's
        `view` (VideoSkeleton.view: its camera and exposure). size: another side; the enhancer draws
        the person at its size (sharp_size) when more than image_size is asked, else it is resized."""
        person, alpha, background = self.generate_layers(ske, box, view, size)
        return person if alpha is None else blend(person, alpha, background)

    def network_input(self, ske, box, view, side):
        """(the networks' input for `ske` at side x side px, a batch of one: the 26 numbers or the stick
        figure [and the plate's crop at `box`]; the plate's crop BGR uint8 or None)."""
        source = self.source_transform(ske) if side == self.image_size else SkeToImageTransform(side)(ske)
        background = None
        if self.plate:
            background = self.videoSke.plate_crop(box, side, view=view)
            if self.opt == 2:
                source = torch.cat([source, image_to_tensor(background)])
        return to_device(source.unsqueeze(0), self.device), background

    def drawn(self, ske, box, view, size):
        """(the networks' output for `ske`, (1, C, S, S) in [-1, 1], the plate's crop at S px or None):
        the generator's at image_size, and where more is asked and there is an enhancer, its output
        at sharp_size drawn over the generator's enlarged (pix2pixHD's coarse to fine)."""
        source, background = self.network_input(ske, box, view, self.image_size)
        output = self.generating_network()(source).float()
        if self.netE is not None and size and size > self.image_size:
            condition, background = self.network_input(ske, box, view, self.sharp_size)
            coarse = enlarge(output, self.sharp_size)
            output = self.netE(*(x.contiguous(memory_format=torch.channels_last) for x in (coarse, condition))).float()
        return output, background

    def generate_layers(self, ske, box=None, view=None, size=None):
        """(person's colours BGR uint8, opacity float32 (S, S) in 0..1, the plate's crop BGR uint8) for
        the pose `ske`; without a plate (the generated image, None, None). DanceDemo's scene pastes the
        colours into the full-resolution plate through the opacity. size: see generate."""
        if not isinstance(ske, Skeleton):
            ske = Skeleton.from_reduced(ske)   # also accept the 26 numbers
        self.generation_mode()
        box = (self.videoSke.typical_box() if box is None else box) if self.plate else None
        with torch.inference_mode(), autocast(self.device, training=False):
            output, background = self.drawn(ske, box, view, size)
        person = tensor_to_image(output[:, :3])
        alpha = None if not self.plate else ((output[0, 3] + 1) / 2).clamp(0, 1).cpu().numpy()
        if size and size != person.shape[0]:   # resized; the plate's crop taken again at that size (sharp)
            person = fit_size(person, size)
            if self.plate:
                alpha, background = np.clip(fit_size(alpha, size), 0, 1), self.videoSke.plate_crop(box, size, view=view)
        return person, alpha, background


# ====================================================================== the command line
def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the target's generator GenVanillaNN (option 1 or 2).")
    add_training_arguments(parser, ngf=NGF, augment=AUGMENT, middle_blocks=MIDDLE_BLOCKS, attention=ATTENTION)
    parser.add_argument("--opt", type=int, choices=(1, 2), default=OPT,
                        help="1: 26 skeleton numbers -> image, 2: stick figure -> image (default: %(default)s)")
    args = parser.parse_args(argv)
    check_training_arguments(args)
    gen = GenVanillaNN(open_dataset(args.data), optSkeOrImage=args.opt, image_size=args.size,
                       device=start_distributed(args.device), ngf=args.ngf, augment=args.augment,
                       middle_blocks=args.middle_blocks, attention=args.attention)
    train_from_command_line(gen, args)
    return 0


if __name__ == "__main__":
    run_cli(main)

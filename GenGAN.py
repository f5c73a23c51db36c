"""The stick-figure generator trained with a discriminator, as pix2pix (Isola et al., 2017) does.

    python GenGAN.py [--data DIR] [--minutes M | --epochs N] [--size S] [--device D] [--restart]
                     [--gan-loss lsgan|hinge|wgan-gp] [--batch B] [--lr LR] [--ngf N] [--ndf N]
                     [--lambda-l1 W] [--lambda-l1-background W] [--lambda-fm W] [--enhance 256]
                     [--middle-blocks N] [--attention]

writes <data>/models/gan_<size>.pt (plus .ckpt.pt, _loss.png, _samples.png), as GenVanilla.py does.

GenGAN is GenVanillaNN's option 2 with a different training step. Everything else comes from
GenVanilla.py (the generator), DanceNetworks.py (the U-Net and the local enhancer), DanceDataset.py
(the dataset), DanceTrain.py (the training loop, the checkpoints, the loss curve, the sample grid)
and ModelFile.py (the model file).

Coarse to fine, as pix2pixHD (Wang et al., 2018): where the dataset has sharp crops (VideoSkeleton's
images_high/), a LocalEnhancer draws the person again at ENHANCE px (256) over the U-Net's 128 px
image enlarged, so that the scene pastes a person as sharp as the room. It trains beside the U-Net,
step for step, on random patches around the person (PATCH_FRACTION of its side: a CPU affords it),
against a second discriminator that sees those patches at the high resolution. The model file
holds both networks; generate(ske, size=256) asks for the sharp person.

This file only adds:
    - PatchDiscriminator: says, for each patch of an image, whether it is a real photo of the
      target in the pose of the stick figure; it sees both, concatenated (a conditional GAN);
    - the losses, as small functions: gan_loss_d, gan_loss_g, gradient_penalty, feature_matching_loss,
      person_weighted_l1;
    - GenGAN.train_step: one discriminator step, then one generator step (adversarial_step), for
      the U-Net and then for the enhancer;
    - GenGAN.generate: as pix2pix generates, with the dropout of training still on.

The generator's loss is  GAN + weighted L1(fake, real) + LAMBDA_FM * feature matching:
the GAN term makes the image look real (sharp), L1 keeps it the right image, feature matching
(pix2pixHD) asks the fake to produce the same discriminator features as the real one, which
steadies training. The L1 weight is the knob between the two: what no pose predicts (the grass,
a caption) L1 can only blur, while the GAN invents it. A high weight everywhere (pix2pix's 100)
gives a pose-faithful person that MediaPipe recognises, on a smooth, blurred background; a low one
gives texture but a ghostly person MediaPipe no longer finds (docs/BENCHMARKS.md).
So the weight depends on the place: LAMBDA_L1 (100) near the person, which the pose predicts,
and LAMBDA_L1_BACKGROUND (10) away from it. "Near" comes from the stick figure itself
(person_mask: its strokes, grown by a tenth of the image side), so it needs no segmentation.
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from DanceTrain import (BETAS, LR, add_training_arguments, autocast, check_training_arguments, check_width,
                        for_training, open_dataset, start_distributed, train_from_command_line)
from DanceUtils import DanceError, check_number, run_cli
from DanceNetworks import enlarge
from GenVanilla import ATTENTION, AUGMENT, MASK_WEIGHT, MIDDLE_BLOCKS, NGF, UPSAMPLE, GenVanillaNN

# The course's switches for `python GenGAN.py` (flags override them; DanceTrain.py has the shared ones).
GAN_LOSS = "lsgan"          # lsgan (least squares, pix2pix's choice) | hinge | wgan-gp
LAMBDA_L1 = 100.0           # weight of L1(fake, real) in the generator's loss (pix2pix: 100; lower: sharper, less faithful)
LAMBDA_L1_BACKGROUND = 10.0  # ...but only this weight away from the person, where no pose predicts the image
LAMBDA_FM = 10.0            # weight of the feature-matching loss (pix2pixHD: 10)
NDF = 32                    # width of the discriminator: channels of its first layer (pix2pix: 64)
ENHANCE = 256               # the person is also drawn at up to this size (4 or 2 times the network's, as the
                            # dataset's sharp crops allow) by a local enhancer over the network's output
                            # (pix2pixHD's coarse to fine); 0: none
# Inside the GAN (rarely changed).
TRAINER = "python GenGAN.py" # the command that trains this model (error messages, DanceGenerators)
GAN_LOSSES = ("lsgan", "hinge", "wgan-gp")
D_LAYERS = 3                # stride-2 layers of the PatchGAN: 3 gives pix2pix's 70x70 patches
GAN_DROPOUT = 0.5           # dropout in the U-Net's inner decoder blocks: pix2pix's source of noise
PERSON_RADIUS = 0.1         # "near the person": within this fraction of the image side of a stick-figure stroke
LAMBDA_GP = 10.0            # weight of the gradient penalty of wgan-gp (Gulrajani et al.: 10)
NOISE_AT_GENERATION = True  # generate with the dropout on, as in training (pix2pix); False: eval mode
NOISE_SEED = 0              # ...with the same dropout for every frame, so that a video does not flicker
GAN_WEIGHT_AVERAGE = 0.0    # GenGAN generates with its last weights, not their moving average (the vanilla
                            # networks' DanceTrain.WEIGHT_AVERAGE): the average blurs a GAN's detail
ENHANCER_L1 = 1.0           # the enhancer's L1 weights, as a fraction of the U-Net's (LAMBDA_L1 near the person,
                            # LAMBDA_L1_BACKGROUND away): lower gives more detail, less faithful
PATCH_FRACTION = 0.5        # the enhancer trains on patches of this fraction of its side (a quarter of the
                            # pixels): the person in detail, at the cost a CPU can afford


# ====================================================================== the discriminator
class PatchDiscriminator(nn.Module):
    """pix2pix's PatchGAN, conditioned on the stick figure: (figure, image) -> a map of scores.

    Each output value judges one patch (70x70 pixels with 3 layers) of the pair; judging
    patches rather than the whole image asks for sharp texture everywhere. 4x4 convolutions:
    n_layers of stride 2 then one of stride 1, channels doubling from ndf up to ndf*8,
    LeakyReLU(0.2), instance norm except on the first and last layers, and spectral
    normalisation on every convolution (it bounds how fast D can change, steadying the GAN).
    """

    def __init__(self, in_channels=6, ndf=NDF, n_layers=D_LAYERS):
        super().__init__()
        layers, c = [], in_channels
        for i in range(n_layers + 1):
            out = ndf * min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            block = [spectral_norm(nn.Conv2d(c, out, 4, stride=stride, padding=1))]
            if i > 0:
                block.append(nn.InstanceNorm2d(out, affine=True))
            block.append(nn.LeakyReLU(0.2, True))
            layers.append(nn.Sequential(*block))
            c = out
        self.blocks = nn.ModuleList(layers)
        self.last = spectral_norm(nn.Conv2d(c, 1, 4, stride=1, padding=1))

    def forward(self, condition, image, features=False):
        """Scores (B, 1, h, w) of the pairs; with features=True also each block's output (a list)."""
        x = torch.cat([condition, image], dim=1)
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        scores = self.last(x)
        return (scores, feats) if features else scores


# ====================================================================== the losses
def gan_loss_d(real_scores, fake_scores, mode=GAN_LOSS):
    """The discriminator's loss: real pairs should score high (1), generated ones low.

    lsgan:   (D(real) - 1)^2 + D(fake)^2, halved as in pix2pix (slows D relative to G)
    hinge:   relu(1 - D(real)) + relu(1 + D(fake))   (only wrong or unsure scores count)
    wgan-gp: D(fake) - D(real)   (add LAMBDA_GP * gradient_penalty: D must stay 1-Lipschitz)
    """
    if mode == "lsgan":
        return 0.5 * (F.mse_loss(real_scores, torch.ones_like(real_scores))
                      + F.mse_loss(fake_scores, torch.zeros_like(fake_scores)))
    if mode == "hinge":
        return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()
    if mode == "wgan-gp":
        return fake_scores.mean() - real_scores.mean()
    raise ValueError(f"unknown GAN loss {mode!r}; choose one of {GAN_LOSSES}")


def gan_loss_g(fake_scores, mode=GAN_LOSS):
    """The generator's adversarial loss: its images should score as real.

    lsgan: (D(fake) - 1)^2;  hinge and wgan-gp: -D(fake).
    """
    if mode == "lsgan":
        return F.mse_loss(fake_scores, torch.ones_like(fake_scores))
    if mode in ("hinge", "wgan-gp"):
        return -fake_scores.mean()
    raise ValueError(f"unknown GAN loss {mode!r}; choose one of {GAN_LOSSES}")


def gradient_penalty(D, real, fake, condition):
    """WGAN-GP's penalty: mean over the batch of (||grad_x D(condition, x)||_2 - 1)^2.

    x are random points on the segments between real and fake images (one mixing weight per
    image); the gradient is taken with respect to the image only, the norm over all its
    pixels and channels, and D's scores over its patches are summed.
    """
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = D(condition, mixed)
    grad, = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def feature_matching_loss(fake_features, real_features):
    """Mean over D's blocks of L1(features of the fake pair, features of the real pair)."""
    losses = [F.l1_loss(fake, real.detach()) for fake, real in zip(fake_features, real_features)]
    return sum(losses) / len(losses)


def person_mask(figures, radius):
    """(B, 1, H, W) in [0, 1]: 1 within `radius` pixels of the stick figure's strokes, fading out.

    figures: (B, >=3, H, W) network inputs whose first 3 channels are the stick figure on black
    (-1). The strokes, grown by radius (a max-pool), cover the limbs and the torso they frame;
    a box blur of half that size softens the edge.
    """
    drawn = (figures[:, :3] > -0.9).any(dim=1, keepdim=True).float()
    grown = square_pool(F.max_pool2d, drawn, radius)
    return square_pool(F.avg_pool2d, grown, radius // 2, count_include_pad=False)


def square_pool(pool, x, radius, **options):
    """pool (max or mean) over the (2 radius + 1)^2 square around each pixel, as a row pass then a
    column pass: the same result (a square is a row of columns) for 2 (2 radius + 1) reads a pixel
    instead of (2 radius + 1)^2."""
    size = 2 * radius + 1
    x = pool(x, (1, size), stride=1, padding=(0, radius), **options)
    return pool(x, (size, 1), stride=1, padding=(radius, 0), **options)


def person_weighted_l1(fake, real, figures, on_person, background, radius_fraction=PERSON_RADIUS):
    """L1(fake, real) with the weight `on_person` near the stick figure and `background` elsewhere.

    The pose predicts the person, not the grass behind: a lower weight away from the figure lets
    the discriminator ask for real texture there, while the person stays faithful. Equal weights
    give on_person * L1, pix2pix's loss.
    """
    if on_person == background:
        return on_person * F.l1_loss(fake, real)
    mask = person_mask(figures, max(1, round(radius_fraction * real.shape[-1])))
    weights = background + (on_person - background) * mask
    return (weights * (fake - real).abs()).mean()


def check_loss_weights(lambda_l1, lambda_fm, lambda_l1_background):
    """Each weight a finite number of 0 or more (nan or inf would make every loss, then weight, nan)."""
    for flag, weight in (("--lambda-l1", lambda_l1), ("--lambda-fm", lambda_fm),
                         ("--lambda-l1-background", lambda_l1_background)):
        check_number(flag, weight, positive=False)


# ====================================================================== the generator
class GenGAN(GenVanillaNN):
    """GenVanillaNN's option 2 (stick figure -> image, U-Net) trained with a PatchGAN discriminator.

    videoSkeTgt, loadFromFile, image_size, device, model_dir: as GenVanillaNN (the model: <dataset>/models/gan_<size>.pt)
    gan_loss      lsgan | hinge | wgan-gp
    ngf, ndf      widths of the generator and the discriminator; dropout: the generator's
    lambda_l1     weight of the L1 distance to the real image in the generator's loss
    lambda_fm     weight of the feature-matching loss
    lambda_l1_background   the L1 weight away from the person (lambda_l1 there too: pix2pix's plain L1)
    """

    name = "gan"

    def __init__(self, videoSkeTgt, loadFromFile=False, image_size=None, device=None, gan_loss=GAN_LOSS,
                 ngf=NGF, ndf=NDF, dropout=GAN_DROPOUT, augment=AUGMENT, model_dir=None,
                 lambda_l1=LAMBDA_L1, lambda_fm=LAMBDA_FM, lambda_l1_background=LAMBDA_L1_BACKGROUND, plate=None,
                 upsample=UPSAMPLE, middle_blocks=MIDDLE_BLOCKS, attention=ATTENTION, enhance=ENHANCE):
        if gan_loss not in GAN_LOSSES:
            raise DanceError(f"--gan-loss {gan_loss}: choose one of {', '.join(GAN_LOSSES)}")
        check_loss_weights(lambda_l1, lambda_fm, lambda_l1_background)
        self.gan_loss, self.lambda_l1, self.lambda_fm = gan_loss, float(lambda_l1), float(lambda_fm)
        self.lambda_l1_background = float(lambda_l1_background)
        super().__init__(videoSkeTgt, loadFromFile=loadFromFile, optSkeOrImage=2, image_size=image_size,
                         device=device, ngf=ngf, dropout=dropout, augment=augment, model_dir=model_dir,
                         plate=plate, upsample=upsample, middle_blocks=middle_blocks, attention=attention,
                         enhance_size=enhance)
        self.network_settings["ndf"] = ndf   # recorded, so a checkpoint of another D is refused
        # D sees the generator's input (the stick figure, and the plate's crop with a plate) beside an image;
        # the enhancer's D the same, on its patches at sharp_size (it judges finer detail).
        judge = lambda: self._place(PatchDiscriminator(in_channels=(6 if self.plate else 3) + 3, ndf=ndf))
        self.netD = judge()
        self.netD_high = None if self.netE is None else judge()
        self.noise_at_generation = NOISE_AT_GENERATION
        self.weight_average = GAN_WEIGHT_AVERAGE

    # ------------------------------------------------------------------ generation
    def generation_mode(self):
        """Eval mode, except the dropout: pix2pix runs its generator at test time "in exactly the same
        manner as during the training phase" (Isola et al., 3.3). The discriminator judged G's images
        made with dropout; with it off, G averages over what the dropout would choose, a smoother image."""
        network = self.generating_network()
        network.eval()
        if self.noise_at_generation:
            for module in network.modules():
                if isinstance(module, nn.Dropout):
                    module.train()

    def generate_layers(self, ske, box=None, view=None, size=None):
        """As GenVanillaNN's; the dropout's random choice is the same for every frame (NOISE_SEED),
        without touching the caller's random numbers."""
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(NOISE_SEED)
            return super().generate_layers(ske, box, view, size)

    def trainer(self):
        return TRAINER

    def training_settings(self):
        enhancer = {"enhancer_l1": ENHANCER_L1, "patch_fraction": PATCH_FRACTION} if self.netE is not None else {}
        return dict(super().training_settings(), gan_loss=self.gan_loss, lambda_l1=self.lambda_l1,
                    lambda_fm=self.lambda_fm, lambda_l1_background=self.lambda_l1_background, **enhancer)

    # ------------------------------------------------------------------ training
    def make_optimizers(self, lr=LR):
        super().make_optimizers(lr)
        self.netD.train()
        self.trainD = for_training(self.netD, self.device)   # netD, or netD in DistributedDataParallel
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=lr, betas=BETAS)
        if self.netE is not None:   # the enhancer and its judge at sharp_size, trained beside
            self.netE.train()
            self.trainE, self.trainD_high = for_training(self.netE, self.device), for_training(self.netD_high, self.device)
            self.optE = torch.optim.Adam(self.netE.parameters(), lr=lr, betas=BETAS)
            self.optD_high = torch.optim.Adam(self.netD_high.parameters(), lr=lr, betas=BETAS)

    def enhancer_networks(self):
        """{name in the checkpoint: network or optimiser} of the enhancer's training ({} without one)."""
        if self.netE is None:
            return {}
        return {"netE": self.netE, "optE": self.optE, "netD_high": self.netD_high, "optD_high": self.optD_high}

    def optimizers(self):
        return [self.optG, self.optD] + ([self.optE, self.optD_high] if self.netE is not None else [])

    def training_state(self):
        state = dict(super().training_state(), netD=self.netD.state_dict(), optD=self.optD.state_dict())
        return dict(state, **{name: part.state_dict() for name, part in self.enhancer_networks().items()})

    def load_training_state(self, path, state):
        super().load_training_state(path, state)
        self.netD.load_state_dict(state["netD"])
        self.optD.load_state_dict(state["optD"])
        for name, part in self.enhancer_networks().items():
            part.load_state_dict(state[name])

    def dataset_options(self):
        """With the enhancer, each item also has a patch at sharp_size (PATCH_FRACTION of its side)."""
        if self.netE is None:
            return {}
        return {"high_size": self.sharp_size, "patch": round(PATCH_FRACTION * self.sharp_size)}

    def train_step(self, source, target, high_source=None, high_target=None, corners=None):
        """One discriminator step, then one generator step, on a batch (source: stick figures [and plate
        crops], target: real images [, masks and plate crops], see VideoSkeletonDataset); with the
        enhancer, the same again for its patches at sharp_size (high_source, high_target, their
        corners there), drawn over the generator's output enlarged (which this step does not change).
        """
        with autocast(self.device):
            output = self.trainG(source)
        losses = self.adversarial_step(output, source, target, self.trainD, self.netD, self.optD, self.optG)
        if high_source is None:
            return losses
        side = high_source.shape[-1]
        coarse = torch.stack([image[:, y:y + side, x:x + side] for image, (y, x)
                              in zip(enlarge(output.detach().float(), self.sharp_size), corners.tolist())])
        with autocast(self.device):
            enhanced = self.trainE(coarse, high_source)
        # "Near the person" is a fraction of the whole image's side, not of the patch's.
        weights = (ENHANCER_L1 * self.lambda_l1, ENHANCER_L1 * self.lambda_l1_background)
        high = self.adversarial_step(enhanced, high_source, high_target, self.trainD_high, self.netD_high,
                                     self.optD_high, self.optE, weights, PERSON_RADIUS * self.sharp_size / side)
        return dict(losses, **{f"{name}_high": value for name, value in high.items()})

    def adversarial_step(self, output, source, target, trainD, netD, optD, optG, l1_weights=None,
                         radius=PERSON_RADIUS):
        """The discriminator netD's step, then the step of the generator whose `output` (with its graph)
        this is, by optG. trainD: netD as trained (itself, or in DistributedDataParallel). l1_weights:
        (near the person, away from it), default (lambda_l1, lambda_l1_background); radius: "near",
        as a fraction of the images' side.

        In its own step D judges the real and the generated pairs in one call, on a batch of both:
        instance norm treats each image on its own, so this equals two calls, and under torchrun
        DistributedDataParallel wants one call per backward. In G's step the real pair goes through
        D without gradients: its features are only the targets of feature matching, and leaving
        them out of the backward saves that work.
        """
        fake, mask_error = self.image_of(output.float(), target)   # with a plate: the person over it
        real = target[:, :3]
        figures = torch.cat([source, source])

        # 1. The discriminator learns to tell (figure, real) pairs from (figure, generated) ones.
        netD.requires_grad_(True)
        optD.zero_grad(set_to_none=True)
        with autocast(self.device):   # detach: this step does not change G
            real_scores, fake_scores = trainD(figures, torch.cat([real, fake.detach()])).float().chunk(2)
        loss_d = gan_loss_d(real_scores, fake_scores, self.gan_loss)
        losses = {"d": loss_d.detach()}
        if self.gan_loss == "wgan-gp":
            penalty = gradient_penalty(netD, real, fake, source)   # in float32
            loss_d = loss_d + LAMBDA_GP * penalty
            losses["gp"] = penalty.detach()
        loss_d.backward()
        optD.step()

        # 2. The generator learns to fool it, while staying close to the real image. D is only a
        # judge here: no gradients for its weights, and its bare module (nothing to average).
        netD.requires_grad_(False)
        optG.zero_grad(set_to_none=True)
        with autocast(self.device):
            fake_scores, fake_features = netD(source, fake, features=True)
            with torch.no_grad():   # the real pair's features are only targets: no backward through them
                _, real_features = netD(source, real, features=True)
        fake_scores = fake_scores.float()
        fake_features, real_features = [f.float() for f in fake_features], [f.float() for f in real_features]
        loss_gan = gan_loss_g(fake_scores, self.gan_loss)
        loss_l1 = F.l1_loss(fake, real)
        on_person, background = l1_weights or (self.lambda_l1, self.lambda_l1_background)
        loss_l1_weighted = person_weighted_l1(fake, real, source, on_person, background, radius)
        loss_fm = feature_matching_loss(fake_features, real_features)
        loss_mask = on_person * MASK_WEIGHT * mask_error   # the opacity, as lightly as for GenVanillaNN
        (loss_gan + loss_l1_weighted + self.lambda_fm * loss_fm + loss_mask).backward()
        optG.step()
        netD.requires_grad_(True)
        losses.update(g_gan=loss_gan.detach(), l1=loss_l1.detach(), fm=loss_fm.detach())
        if self.plate:
            losses["mask"] = mask_error.detach()
        return losses


# ====================================================================== the command line
def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the target's GAN generator (pix2pix style).")
    add_training_arguments(parser, ngf=NGF, augment=AUGMENT, middle_blocks=MIDDLE_BLOCKS, attention=ATTENTION)
    parser.add_argument("--enhance", type=int, default=ENHANCE,
                        help="also draw the person at up to this size (4 or 2 times --size, as the dataset's sharp "
                             "crops allow) with a local enhancer; 0: none (default: %(default)s)")
    parser.add_argument("--gan-loss", choices=GAN_LOSSES, default=GAN_LOSS,
                        help="the adversarial loss (default: %(default)s)")
    parser.add_argument("--ndf", type=int, default=NDF, help="width of the discriminator (default: %(default)s)")
    parser.add_argument("--lambda-l1", type=float, default=LAMBDA_L1,
                        help="weight of L1 to the real image: higher is more faithful, lower sharper (default: %(default)s)")
    parser.add_argument("--lambda-l1-background", type=float, default=LAMBDA_L1_BACKGROUND,
                        help="the L1 weight away from the person, where no pose predicts the image "
                             "(default: %(default)s)")
    parser.add_argument("--lambda-fm", type=float, default=LAMBDA_FM,
                        help="weight of the discriminator's feature-matching loss (default: %(default)s)")
    args = parser.parse_args(argv)
    check_training_arguments(args)
    check_width("--ndf", args.ndf)
    check_loss_weights(args.lambda_l1, args.lambda_fm, args.lambda_l1_background)   # before the dataset is loaded
    gen = GenGAN(open_dataset(args.data), image_size=args.size, device=start_distributed(args.device),
                 gan_loss=args.gan_loss, ngf=args.ngf, ndf=args.ndf, augment=args.augment,
                 lambda_l1=args.lambda_l1, lambda_fm=args.lambda_fm, lambda_l1_background=args.lambda_l1_background,
                 middle_blocks=args.middle_blocks, attention=args.attention, enhance=args.enhance)
    if args.enhance >= 2 * gen.image_size and not gen.sharp_size:
        print(f"{gen.videoSke.directory}: no sharp crops of {2 * gen.image_size} px or more (a small person, or a "
              f"dataset prepared before them or with a small --high-size): the person is drawn at "
              f"{gen.image_size} px only")
    train_from_command_line(gen, args, what=f"{gen.name} ({gen.gan_loss})")
    return 0


if __name__ == "__main__":
    run_cli(main)

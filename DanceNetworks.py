"""The networks, in one place (as pix2pix keeps its models/networks.py): what GenVanilla.py and
GenGAN.py train.

    GenNNSke26ToImage     option 1: the 26 numbers of a reduced skeleton -> an image
    GenNNSkeImToImage     option 2: a stick figure (and the plate's crop) -> an image: pix2pix's U-Net
    LocalEnhancer         the person again at 2x or 4x the U-Net's size, from its output enlarged
                          (pix2pixHD's coarse to fine)
    build_generator       the network a model file's settings describe

The discriminator is GenGAN.py's. The switches (widths, decoder, dropout) are at the top of
GenVanilla.py and GenGAN.py; the defaults here are theirs.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from DanceTrain import MAX_MIDDLE_BLOCKS, MAX_WIDTH

MIDDLE_SIZE = 8               # the U-Net's options (residual blocks, self-attention) work on its 8x8 map
ENHANCER_NGF = 32             # channels of the local enhancer (it works at the U-Net's size, see LocalEnhancer)
ENHANCER_BLOCKS = 2           # its residual blocks
from DanceUtils import DanceError
from ModelFile import power_of_two_levels


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

    def __init__(self, image_size=128, ngf=32, input_dim=26, hidden=256, out_channels=3):
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
    The course's two last ideas, options at the U-Net's middle (MIDDLE_SIZE: a 1x1 bottleneck has
    nothing to attend to): `middle_blocks` residual blocks (pix2pixHD's global generator is a
    ResNet) and `attention`, a self-attention layer (SAGAN) that lets every place of the small map
    look at every other, e.g. a hand at the shoulder it belongs to.
    With a background plate the input is the stick figure and the plate's crop (6 channels) and
    the output the person's colours and opacity (4 channels).
    """

    def __init__(self, image_size=128, ngf=32, in_channels=3, out_channels=3, dropout=0.0, upsample_how="resize",
                 middle_blocks=0, attention=False):
        super().__init__()
        levels = power_of_two_levels(image_size)
        chans = [ngf * min(2 ** i, 8) for i in range(levels)]   # channels after each encoder step
        # The options work on the encoder's map of MIDDLE_SIZE pixels (its level: image_size / 2^(level+1)).
        self.middle_level = power_of_two_levels(image_size // MIDDLE_SIZE, smallest=2) - 1
        middle = [SelfAttention(chans[self.middle_level])] if attention else []
        middle += [ResidualBlock(chans[self.middle_level]) for _ in range(middle_blocks)]
        self.middle = nn.Sequential(*middle)
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
        for level, down in enumerate(self.downs):
            x = down(x)
            if level == self.middle_level:
                x = self.middle(x)                      # nothing without the options
            skips.append(x)
        skips.pop()                                     # the bottleneck itself is x
        for up in self.ups:
            x = torch.cat([up(x), skips.pop()], dim=1)
        return self.last(x)


class ResidualBlock(nn.Module):
    """x + two 3x3 convolutions of x (He et al., 2016): a block that can only add to what it is given,
    so a deep stack starts as the identity and trains easily. norm=False leaves out the instance
    norm (the local enhancer: trained on patches, run on whole images, whose statistics differ)."""

    def __init__(self, channels, norm=True):
        super().__init__()
        normalise = (lambda: nn.InstanceNorm2d(channels, affine=True)) if norm else nn.Identity
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), normalise(), nn.ReLU(True),
                                  nn.Conv2d(channels, channels, 3, padding=1), normalise())

    def forward(self, x):
        return x + self.body(x)


class SelfAttention(nn.Module):
    """SAGAN's self-attention (Zhang et al., 2019): each place of the map adds a weighted sum of the
    values of all places, weighted by how well its query matches their keys (softmax). gamma starts
    at 0, so the layer starts as the identity and the network lets attention in as it helps."""

    def __init__(self, channels):
        super().__init__()
        self.query = nn.Conv2d(channels, max(1, channels // 8), 1)
        self.key = nn.Conv2d(channels, max(1, channels // 8), 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        b, c, h, w = x.shape
        q, k = self.query(x).flatten(2), self.key(x).flatten(2)            # (B, C/8, HW)
        weights = torch.softmax(q.transpose(1, 2) @ k, dim=-1)              # (B, HW, HW): place i looks at j
        attended = (self.value(x).flatten(2) @ weights.transpose(1, 2)).view(b, c, h, w)
        return x + self.gamma * attended


class LocalEnhancer(nn.Module):
    """The person at `scale` times the U-Net's size (2: 256 px from 128): pix2pixHD's coarse to fine.

    Input: the U-Net's output enlarged (colours [and opacity]) and, at the large size, the stick
    figure [and the plate's crop]; output: that enlarged output plus a correction, the detail the
    small image could not hold. The large input is folded into channels (pixel unshuffle: each
    scale x scale block of pixels becomes scale^2 channels of one pixel), so the residual blocks work
    at the U-Net's size, 1/scale^2 of the cost, and a pixel shuffle unfolds the correction (the
    sub-pixel convolution of super-resolution networks, Shi et al., 2016). The last layer starts at
    0: an untrained enhancer gives exactly the enlarged image. No norm: it trains on patches
    (GenGAN) and runs on whole images.
    """

    def __init__(self, scale, in_channels, out_channels, ngf=ENHANCER_NGF, blocks=ENHANCER_BLOCKS):
        super().__init__()
        self.scale = scale
        self.head = nn.Sequential(nn.PixelUnshuffle(scale), nn.Conv2d(in_channels * scale ** 2, ngf, 3, padding=1),
                                  nn.ReLU(True))
        self.body = nn.Sequential(*[ResidualBlock(ngf, norm=False) for _ in range(blocks)])
        self.tail = nn.Sequential(nn.Conv2d(ngf, out_channels * scale ** 2, 3, padding=1), nn.PixelShuffle(scale))
        init_weights(self)
        nn.init.zeros_(self.tail[0].weight)

    def forward(self, coarse, condition):
        """coarse (B, out_channels, H, W): the U-Net's output enlarged; condition (B, C, H, W): stick figure
        [and plate] at that size; H and W multiples of scale. -> (B, out_channels, H, W) in [-1, 1]."""
        correction = self.tail(self.body(self.head(torch.cat([coarse, condition], dim=1))))
        return (coarse + correction).clamp(-1, 1)


def enlarge(images, size):
    """(B, C, s, s) -> (B, C, size, size), bilinear: how the U-Net's output reaches the enhancer."""
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)


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
        if key in settings and not whole(settings[key], 1, MAX_WIDTH):
            raise ValueError(f"{key} {settings[key]!r}: not a whole number from 1 to {MAX_WIDTH}")
    dropout = settings.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout {dropout!r}: not a number from 0 to below 1")
    if not isinstance(settings.get("plate", False), bool):
        raise ValueError(f"plate {settings['plate']!r}: not true or false")
    enhance, size = settings.get("enhance_size", 0), settings.get("image_size")
    if enhance and not (whole(enhance, 2 * size, 4 * size) and enhance in (2 * size, 4 * size)):
        raise ValueError(f"enhance_size {enhance!r}: not 0, twice or four times image_size {size}")
    if not whole(settings.get("middle_blocks", 0), 0, MAX_MIDDLE_BLOCKS) or not isinstance(settings.get("attention", False), bool):
        raise ValueError(f"middle_blocks {settings.get('middle_blocks')!r} or attention {settings.get('attention')!r}")
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
                             upsample_how=settings.get("upsample", "transpose"),
                             middle_blocks=settings.get("middle_blocks", 0), attention=settings.get("attention", False))


def build_enhancer(settings):
    """The LocalEnhancer of a model file's settings (enhance_size > image_size), or None."""
    enhance = settings.get("enhance_size", 0)
    if not enhance:
        return None
    plate = settings.get("plate", False)
    return LocalEnhancer(enhance // settings["image_size"], in_channels=(4 if plate else 3) + (6 if plate else 3),
                         out_channels=4 if plate else 3, ngf=settings.get("enhancer_ngf", ENHANCER_NGF))


def composite(output, background):
    """The person the network drew over the background: output (B, 4, S, S) = colours and opacity in
    [-1, 1], background (B, 3, S, S) -> (image (B, 3, S, S), opacity (B, 1, S, S) in 0..1)."""
    alpha = (output[:, 3:4] + 1) / 2
    return alpha * output[:, :3] + (1 - alpha) * background, alpha



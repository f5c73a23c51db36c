"""The data the networks learn from: a prepared dataset's items as tensors (pix2pix keeps its data apart
from its networks; so does this project).

    dataset = VideoSkeletonDataset(VideoSkeleton("data/taichi1"), ske_reduced=False,
                                   source_transform=SkeToImageTransform(128))
    source, target = dataset[0]     # the stick figure (or 26 numbers) -> the real crop, in [-1, 1]

With a background plate the source also holds the plate's crop behind the person, and the target
the person's mask (see VideoSkeletonDataset). GenVanilla.py and GenGAN.py train on it.
"""
import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from DanceTrain import is_main_process
from Skeleton import Skeleton

AUG_SHIFT = 0.04              # augmentation: largest shift, as a fraction of the image side
AUG_SCALE = 0.05              # augmentation: largest change of scale (0.05 = +-5 %)
# The training images (with a plate, also the plate's crops and the masks) are read once into memory
# while they need at most this many bytes: 2 GiB holds 18,000 items of 128 px with a plate (43,000
# without) or 1,100 of 512 px, and fits beside the networks on a laptop. A larger dataset is read
# from disk item by item (by the DataLoader's workers beside a GPU): the same items, an epoch a few
# per cent slower on a CPU.
DATASET_MEMORY_BYTES = 2 << 30


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


def fit_rgb(image, size):
    """A crop (BGR, or a mask) at size x size, RGB."""
    if image.shape[:2] != (size, size):
        interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
        image = cv2.resize(image, (size, size), interpolation=interpolation)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if image.ndim == 3 else image


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
    plate             True (a dataset with a background plate): each item also has the plate's crop at
                      its box and the person's mask. The source of option 2 is then the stick figure and
                      the plate's crop (6 channels), and the target the real image, the mask and the
                      plate's crop (7 channels: the training step composites over the plate).
    high_size, patch  > 0 (GenGAN's enhancer, option 2): each item also has a patch x patch piece of
                      the same at high_size (from the sharp crops), around a random place of the
                      person: (source, target, high source, high target, the patch's (y, x) there).

    All target images are read once into one uint8 tensor (K, S, S, 3), RGB (1482 images of
    128 px are 73 MB), so an epoch never touches the disk, as long as they (and the plate's crops
    and masks) fit in DATASET_MEMORY_BYTES; beyond, each item is read from disk when it is asked
    for (images, backgrounds and masks are then None), with the same result.
    """

    def __init__(self, videoSke, ske_reduced=True, source_transform=None, target_transform=None,
                 optSkeOrImage=1, image_size=128, augment=False, indices=None, plate=False, high_size=0, patch=0):
        self.videoSke = videoSke
        self.image_size = image_size
        self.high_size, self.patch = high_size, patch
        self.augment = augment
        self.plate = plate
        self.indices = np.arange(len(videoSke)) if indices is None else np.asarray(indices)
        if source_transform is None:
            source_transform = default_source_transform(optSkeOrImage, image_size, ske_reduced)
        self.source_transform = source_transform
        self.target_transform = uint8_to_signed if target_transform is None else target_transform
        self.landmarks = np.stack([videoSke.ske[i].landmarks for i in self.indices])
        # The memory all items would take is known before reading any: every layer is resized to S x S.
        needed = self.memory_needed()
        self.in_memory = needed <= DATASET_MEMORY_BYTES
        self.stores = None
        if self.in_memory:
            self._load()
        elif is_main_process():   # under torchrun, one line for all the processes
            print(f"{videoSke.directory}: its {len(self)} training items need {needed / 2**30:.1f} GiB, more than "
                  f"DATASET_MEMORY_BYTES ({DATASET_MEMORY_BYTES / 2**30:.1f} GiB, DanceDataset.py): each item is "
                  f"read from disk when it is used")

    def memory_needed(self):
        """Bytes of all items in memory: an RGB image each, and with a plate an RGB plate crop and a mask
        (at image_size, and again at high_size for the enhancer)."""
        channels = 3 + (3 + 1 if self.plate else 0)
        return len(self) * (self.image_size ** 2 + self.high_size ** 2) * channels

    def _load(self):
        """Read every item into uint8 tensors, filled in place (no second copy of the data)."""
        first = self.read_layers(0)
        self.stores = [torch.empty((len(self),) + layer.shape, dtype=torch.uint8) for layer in first]
        for k in range(len(self)):
            for store, layer in zip(self.stores, first if k == 0 else self.read_layers(k)):
                store[k] = torch.from_numpy(layer)

    @property
    def images(self):
        """The training images in memory, uint8 RGB (K, S, S, 3); None when read from disk."""
        return None if self.stores is None else self.stores[0]

    def read_layers(self, idx):
        """Item idx's layers read from disk, at the dataset's size: [RGB image (S, S, 3)], and with a plate
        also the plate's crop at its box (RGB) and the person's mask (S, S); with high_size the same
        again at that size, from the sharp crops."""
        layers = self.layers_at(idx, self.image_size, self.videoSke.readImage, self.videoSke.readMask)
        if self.high_size:
            layers += self.layers_at(idx, self.high_size, self.videoSke.readHighImage, self.videoSke.readHighMask)
        return layers

    def layers_at(self, idx, size, read_image, read_mask):
        """Item idx's image [plate crop and mask] at size x size, from read_image and read_mask."""
        i = self.indices[idx]
        layers = [fit_rgb(read_image(i), size)]
        if self.plate:
            vs, box, view = self.videoSke, self.box(idx), self.videoSke.view(i)
            # The mask teaches the opacity 0 away from the person, but not where the plate does not know
            # the room (where the person always stood): there the network draws the room itself.
            unsure = 255 - vs.confidence_crop(box, size, view=view)
            layers += [fit_rgb(vs.plate_crop(box, size, view=view), size),
                       np.maximum(fit_rgb(read_mask(i), size), unsure)]
        return layers

    def layers(self, idx):
        """Item idx's layers (see read_layers): from memory, or from disk when they did not fit."""
        if not self.in_memory:
            return self.read_layers(idx)
        return [store[idx].numpy() for store in self.stores]

    def __len__(self):
        return len(self.indices)

    def box(self, idx):
        """Item idx's crop box in the video's frame (x0, y0, side, side), or None without boxes."""
        boxes = getattr(self.videoSke, "crop_boxes", None)
        return None if boxes is None else boxes[self.indices[idx]]

    def augmented(self, idx, augment=None):
        """(Skeleton, [its layers: see read_layers]) of item idx, augmented if asked (the same shift and
        scale for all)."""
        augment = self.augment if augment is None else augment
        landmarks, layers = self.landmarks[idx], self.layers(idx)
        if augment:
            scale = 1 + AUG_SCALE * (2 * torch.rand(()).item() - 1)
            shift = AUG_SHIFT * (2 * torch.rand(2).numpy() - 1)
            landmarks = shift_scale(landmarks, scale, shift)
            layers = [shift_scale_image(layer, scale, shift) for layer in layers]
        return Skeleton(landmarks), layers

    def item(self, idx, augment=None):
        """Item idx before the transforms: (Skeleton, uint8 RGB image (S, S, 3), plate crop or None,
        mask (S, S) or None), augmented if asked."""
        ske, layers = self.augmented(idx, augment)
        background, mask = layers[1:3] if self.plate else (None, None)
        return ske, layers[0], background, mask

    def pair(self, idx, augment=None):
        """Item idx before the transforms: (Skeleton, uint8 RGB image (S, S, 3)), augmented if asked."""
        ske, image, _, _ = self.item(idx, augment)
        return ske, image

    def get(self, idx, augment=None):
        """Item idx as (source, target) tensors (with high_size, also the high patch: see the class);
        augment=None follows the dataset's setting."""
        ske, layers = self.augmented(idx, augment)
        count = 3 if self.plate else 1
        source, target = self.tensors(self.source_transform(ske), layers[:count])
        if not self.high_size:
            return source, target
        high_source, high_target = self.tensors(SkeToImageTransform(self.high_size)(ske), layers[count:])
        y, x = self.patch_corner(layers[-1] if self.plate else None)
        patch = (slice(None), slice(y, y + self.patch), slice(x, x + self.patch))
        return source, target, high_source[patch], high_target[patch], torch.tensor([y, x])

    def tensors(self, source, layers):
        """(source, target) of one size: the source [and the plate's crop]; the image [mask and plate's crop]."""
        image = self.target_transform(torch.from_numpy(layers[0]).permute(2, 0, 1))
        if not self.plate:
            return source, image
        background = uint8_to_signed(torch.from_numpy(layers[1]).permute(2, 0, 1))
        if source.dim() == 3:   # a stick figure: the network also sees the room behind the person
            source = torch.cat([source, background])
        return source, torch.cat([image, uint8_to_signed(torch.from_numpy(layers[2])[None]), background])

    def patch_corner(self, mask):
        """(y, x) of a random patch at high_size around a random pixel of the person (`mask`, where the
        enhancer has work: the plate gives the room), on the grid of the small image's pixels."""
        step = self.high_size // self.image_size
        people = np.flatnonzero(mask > 127) if mask is not None else []
        place = (people[torch.randint(len(people), ()).item()] if len(people) else
                 torch.randint(self.high_size ** 2, ()).item())
        centre = np.array(divmod(place, self.high_size))
        y, x = np.clip(centre - self.patch // 2, 0, self.high_size - self.patch) // step * step
        return int(y), int(x)

    def __getitem__(self, idx):
        return self.get(idx)

"""The target's own scene: the generated person pasted into the background plate, at full resolution.

Everybody Dance Now films its target with a still camera, so the room is known (VideoSkeleton's
background plate) and only the person has to be generated. For each source pose, DanceDemo's
`--view scene`:
  1. takes the source's pose in its full frame, normalised into the target's full frame (scale by
     body heights, move the standing point: SkeletonSequence.PoseNormalizer, here in pixels), so a
     source who walks across their stage walks across the target's;
  2. cuts the crop box of that pose by VideoSkeleton's rule (the target's one crop side, centred
     on the body) and gives the generator the pose in that box (and the plate's crop behind it);
  3. pastes the generated person (colours and opacity, enlarged to the box) into the plate, so the
     room keeps its own resolution and no crop border shows.

    scene = Scene(VideoSkeleton("data/my_target"))
    frame = scene.paste(person, alpha, box)          # the target's whole frame, BGR uint8
"""
import cv2
import numpy as np

from DanceUtils import blend
from Skeleton import Skeleton

FEATHER = 0.06   # the opacity fades to 0 over this fraction of the box at its border: no seam, ever


def full_frame(crop_landmarks, boxes):
    """Landmarks (N, 33, 3) in crop fractions -> pixels of the video's frame, given each crop's box
    (N, 4): x0, y0, side, side. z (depth, in crop sides) is scaled like x."""
    boxes = np.asarray(boxes, np.float32)
    out = np.array(crop_landmarks, np.float32, copy=True)
    out[..., :2] = out[..., :2] * boxes[:, None, 2:3] + boxes[:, None, :2]
    out[..., 2] *= boxes[:, None, 2]
    return out


def in_plate(points, camera):
    """Full-frame landmarks (N, 33, 3) in pixels -> the plate's pixels, through each frame's camera (N, 3, 3):
    x, y through the transform, z scaled by its zoom."""
    camera = np.asarray(camera, np.float64)
    xy1 = np.concatenate([points[..., :2], np.ones(points.shape[:-1] + (1,))], axis=-1)
    placed = np.einsum("nij,nkj->nki", camera, xy1)
    out = np.array(points, np.float32, copy=True)
    out[..., :2] = placed[..., :2] / placed[..., 2:3]
    out[..., 2] *= np.sqrt(np.abs(np.linalg.det(camera[:, :2, :2])))[:, None]
    return out


def border_fade(size, fraction=FEATHER):
    """(size, size) float32: 1 inside, falling linearly to 0 at the square's border."""
    ramp = np.clip(np.minimum(np.arange(size), np.arange(size)[::-1]) / max(1.0, fraction * size), 0, 1)
    return np.minimum.outer(ramp, ramp).astype(np.float32)


class Scene:
    """Where the target stands in their own frame, and how to paste a generated person into it.

    target: a VideoSkeleton with a background plate (target.has_plate) and crop boxes.
    """

    def __init__(self, target):
        self.target = target
        self.plate = target.plate
        # The target's poses in the plate's pixels: each frame's pixels placed through its camera, so a
        # camera that moved shows its scene as if it had stood still (the first kept frame's view).
        scales = np.sqrt(np.abs(np.linalg.det(target.camera[:, :2, :2])))
        self.side = int(round(np.median(target.crop_boxes[:, 2] * scales)))    # VideoSkeleton's one crop side
        self.landmarks = in_plate(full_frame(target.landmarks, target.crop_boxes), target.camera)
        self.fade = {}

    @property
    def size(self):
        """(width, height) of the scene: the target video's frame."""
        return self.plate.shape[1], self.plate.shape[0]

    def box_of(self, pose):
        """The crop box (x0, y0, side, side) of a full-frame pose (33, 3) in pixels: VideoSkeleton's
        rule, the target's crop side centred on the pose's bounding box."""
        xy = pose[:, :2]
        corner = np.round((xy.min(axis=0) + xy.max(axis=0)) / 2 - self.side / 2).astype(int)
        return np.array([corner[0], corner[1], self.side, self.side])

    def crop_skeleton(self, pose, box):
        """The full-frame pose (33, 3, pixels) as a Skeleton in the fractions of its box (what the
        generators were trained on)."""
        crop = np.array(pose, np.float32, copy=True)
        crop[:, :2] = (crop[:, :2] - box[:2]) / box[2]
        crop[:, 2] /= box[2]
        return Skeleton(crop)

    def paste(self, person, alpha, box):
        """The plate with `person` (BGR uint8, S x S) pasted at `box` through its opacity `alpha`
        (float32 S x S in 0..1; None: the whole crop), both enlarged to the box. Parts of the box
        outside the frame are cut off, so poses at the frame's edge work."""
        frame = self.plate.copy()
        x0, y0, side = int(box[0]), int(box[1]), int(box[2])
        h, w = frame.shape[:2]
        fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
        if fx0 >= fx1 or fy0 >= fy1:
            return frame   # the box lies outside the frame
        opacity = np.ones(person.shape[:2], np.float32) if alpha is None else alpha
        big = cv2.resize(person, (side, side), interpolation=cv2.INTER_CUBIC)
        opacity = cv2.resize(opacity, (side, side), interpolation=cv2.INTER_LINEAR) * self.border(side)
        region = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
        frame[fy0:fy1, fx0:fx1] = blend(big[region], opacity[region], frame[fy0:fy1, fx0:fx1])
        return frame

    def border(self, side):
        """border_fade(side), computed once per side."""
        if side not in self.fade:
            self.fade[side] = border_fade(side)
        return self.fade[side]

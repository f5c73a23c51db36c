"""The background plate: the room without the person, in one reference view.

Everybody Dance Now films its target with a still camera: only the person moves. People's videos
also drift, shake, pan and zoom (CameraMotion.py places every kept frame in the reference view),
and phones expose automatically. VideoSkeleton keeps, while it detects the poses, each frame's
person mask (small: pack_mask, kept on disk: PackedMasks), then makes the plate of the whole video
from up to PLATE_FRAMES frames spread over it:
  1. each frame is seen in the reference view (its transform), and its exposure is mapped to the
     plate's (a gain and an offset per colour, fitted on the background: fit_exposure);
  2. per pixel of the plate, the median of the frames where that pixel is clear of the person (their
     mask grown by PLATE_MARGIN of the crop side, to leave out their blurred edge and shadow);
  3. how sure the plate is of each pixel (its confidence): how many frames saw it clear, against how
     many saw it at all. Where the person (nearly) always stood, the plate does not know: the
     confidence says so, and the pixel is filled smoothly from the known ones around it, for display.
How well the plate fits its frames, away from the person, tells a scene that the plate explains
(a few grey levels: compression noise) from one it does not (PLATE_MAX_ERROR and more: a hand-held
walk with parallax, a crowd, changing light).

    plate = background_plate(frames, covers, boxes, to_plate, plate_size)
    plate.image, plate.confidence, plate.exposures, plate.error
"""
import os
import zlib

import cv2
import numpy as np

PLATE_FRAMES = 50            # the median is taken over at most this many frames, spread over the video...
PLATE_FRAMES_BYTES = 400 << 20   # ... and at most this much memory of frames (fewer frames for a 4K video)
PLATE_MIN_FRAMES = 3         # with fewer, how well the plate fits would mean nothing
PLATE_MARGIN = 0.03          # the person's mask grows by this share of the crop side: their blurred edge, shadow
PLATE_MAX_ERROR = 7.0        # grey levels: between what still cameras fit their frames within and what a shot
                             # change or an unfollowed camera leaves (the table: docs/BENCHMARKS.md)
PLATE_STRIP_VALUES = 16 << 20    # the median works on strips of rows of about this many values (memory)
PLATE_MAX_PIXELS = 4             # a plate holds at most this many frames' worth of pixels (a long pan is refused)
CLEAR_SHARE = 0.1                # a plate pixel is known when at least this share of the frames that saw it...
MIN_CLEAR = 3                    # ... and at least this many saw it clear of the person
QUICK_PLATE_SHRINK = 4           # the quick plate the exposures are fitted against is this many times smaller
EXPOSURE_STEADY = 0.01           # gains within 1 % of 1 (and offsets within a grey level): the exposure is fixed


def pack_mask(mask):
    """A person mask (float 0..1, the whole frame) kept small until pass 2 knows its crop.

    The crop side depends on the whole video, so pass 1 cannot cut the masks yet, and full
    frames of masks would not fit in memory for a long video. So: 0-255, only the rectangle
    where it is not 0, compressed (about 10 KB for a 720p frame, in 0.2 ms).
    Returns (x, y, w, h, bytes); a frame without a mask packs as an empty one.
    """
    if mask is None:
        return 0, 0, 0, 0, zlib.compress(b"")
    mask = cv2.convertScaleAbs(mask, alpha=255)   # rounds and saturates into 0..255
    x, y, w, h = cv2.boundingRect(mask)            # of the pixels that are not 0
    return x, y, w, h, zlib.compress(np.ascontiguousarray(mask[y:y + h, x:x + w]).data, 1)


def unpack_mask(packed, width, height):
    """The packed mask (see pack_mask) as a whole frame again: uint8 (height, width), 0-255."""
    x, y, w, h, data = packed
    mask = np.zeros((height, width), np.uint8)
    mask[y:y + h, x:x + w] = np.frombuffer(zlib.decompress(data), np.uint8).reshape(h, w)
    return mask


class PackedMasks:
    """The packed masks of pass 1 (pack_mask), kept in a file rather than in memory: an hour of 4K
    video at every frame would otherwise hold gigabytes of masks until pass 2 cuts them.

        masks = PackedMasks(path); masks.append(pack_mask(mask)); masks[k] -> packed; masks.close()
    """

    def __init__(self, path):
        self.file = open(path, "w+b")
        self.index = []   # (x, y, w, h, offset, length) of each mask: a few numbers per frame

    def append(self, packed):
        x, y, w, h, data = packed
        offset = self.file.seek(0, os.SEEK_END)
        self.file.write(data)
        self.index.append((x, y, w, h, offset, len(data)))

    def __len__(self):
        return len(self.index)

    def __getitem__(self, k):
        x, y, w, h, offset, length = self.index[k]
        self.file.seek(offset)
        return x, y, w, h, self.file.read(length)

    def close(self):
        self.file.close()


def person_cover(packed, width, height, margin):
    """Where the person is in a frame: their mask above 0.5, grown by `margin` pixels so that their
    blurred edge and shadow are left out too. uint8 (height, width), 1 on the person."""
    cover = (unpack_mask(packed, width, height) >= 128).view(np.uint8)
    x, y, w, h = packed[:4]
    if w and h and margin > 0:   # only near the person's rectangle: the rest is farther than the margin
        near = np.s_[max(y - margin, 0):y + h + margin, max(x - margin, 0):x + w + margin]
        # Every pixel within `margin` of the person (a distance transform: 30x faster than a dilation by a disc).
        cover[near] = cv2.distanceTransform(1 - cover[near], cv2.DIST_L2, 3) <= margin
    return cover


def plate_sample(count, frame_bytes):
    """The positions (among `count` frames with a person) of the frames the plate is made of,
    spread evenly over the video: at most PLATE_FRAMES, and PLATE_FRAMES_BYTES of frames."""
    wanted = min(count, PLATE_FRAMES, max(1, PLATE_FRAMES_BYTES // frame_bytes))
    return np.unique(np.round(np.linspace(0, count - 1, wanted)).astype(np.int64))


class Plate:
    """What background_plate makes: image (H, W, 3) uint8, the room at the reference exposure, filled
    where unknown; confidence (H, W) uint8 0-255, how sure the plate is of each pixel; exposures (N, 2, 3)
    float32, per frame the gain and the offset per colour that map it to the plate's exposure; error,
    the mean grey-level difference between the frames and the plate away from the person."""

    def __init__(self, image, confidence, exposures, error):
        self.image, self.confidence, self.exposures, self.error = image, confidence, exposures, error


def plate_geometry(to_reference, width, height):
    """(3x3 frame -> plate transforms, (plate width, plate height)) for frames whose transforms to the
    reference view are `to_reference` (K, 3, 3): the plate is the smallest rectangle holding every
    frame. None when it would hold more than PLATE_MAX_PIXELS frames' worth of pixels."""
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], np.float64).T
    placed = to_reference @ corners                       # (K, 3, 4)
    xy = placed[:, :2] / placed[:, 2:3]
    low, high = np.floor(xy.min(axis=(0, 2))), np.ceil(xy.max(axis=(0, 2)))
    size = (int(high[0] - low[0]), int(high[1] - low[1]))
    if size[0] * size[1] > PLATE_MAX_PIXELS * width * height:
        return None
    shift = np.array([[1, 0, -low[0]], [0, 1, -low[1]], [0, 0, 1]], np.float64)
    return shift @ to_reference, size


def is_identity(transform):
    return np.allclose(transform, np.eye(3), atol=1e-6)


def steady(exposure, gain_tolerance=1e-3, offset_tolerance=0.1):
    """True when an exposure correction (gain, offset) changes nothing that shows (by default), or
    less than the tolerances given."""
    gain, offset = exposure
    return (np.abs(np.asarray(gain) - 1).max() <= gain_tolerance
            and np.abs(np.asarray(offset)).max() <= offset_tolerance)


def still_cameras(count):
    """(count, 3, 3) identities: every frame's camera where the camera stood still."""
    return np.repeat(np.eye(3)[None], count, axis=0)


def unchanged_exposures(count):
    """(count, 2, 3) float32: gain 1 and offset 0 per colour for every frame."""
    return np.repeat(np.float32([[1, 1, 1], [0, 0, 0]])[None], count, axis=0)


def corrected(frame, exposure):
    """`frame` mapped to the plate's exposure: gain * frame + offset per colour (uint8, saturated)."""
    if exposure is None:
        return frame
    gain, offset = exposure
    return cv2.transform(frame, np.hstack([np.diag(gain), offset[:, None]]).astype(np.float32))


def as_seen(plate, to_plate, exposure, width, height, flags=cv2.INTER_LINEAR):
    """The plate (or any image in the plate's view) as the frame of size width x height saw it: through
    the inverse of its transform, and at its exposure when `exposure` (the frame's correction) is given."""
    if is_identity(to_plate) and plate.shape[:2] == (height, width):
        view = plate
    else:
        view = cv2.warpPerspective(plate, to_plate, (width, height), flags=flags | cv2.WARP_INVERSE_MAP,
                                   borderMode=cv2.BORDER_REPLICATE)
    if exposure is None:
        return view
    gain, offset = exposure
    return corrected(view, (1 / gain, -offset / gain))


def in_plate_view(image, to_plate, plate_size, top, rows, flags):
    """Rows top..top+rows of `image` (a frame, or a mask of it) seen in the plate's view; 0 outside it."""
    if is_identity(to_plate) and image.shape[1] == plate_size[0]:
        return image[top:top + rows]
    strip = np.array([[1, 0, 0], [0, 1, -top], [0, 0, 1]], np.float64) @ to_plate
    return cv2.warpPerspective(image, strip, (plate_size[0], rows), flags=flags, borderMode=cv2.BORDER_CONSTANT)


def aligned_median(frames, covers, to_plate, plate_size, exposures, hidden=None):
    """Per pixel of the plate: the median of the frames' values where they saw it clear of the person,
    how many saw it clear, and how many saw it at all. ((H, W, 3) uint8, (H, W) int16, (H, W) int16)
    hidden: uint8 (H, W) of the frames, 1 where they do not show the scene (a letterbox, captions)."""
    width, height = plate_size
    n = len(frames)
    plate = np.empty((height, width, 3), np.uint8)
    clear_count = np.empty((height, width), np.int16)
    seen_count = np.empty((height, width), np.int16)
    rows = max(1, PLATE_STRIP_VALUES // (width * 3 * n))   # a strip of rows at a time: memory stays small
    whole = np.ones(frames[0].shape[:2], np.uint8)
    edged = np.pad(whole[1:-1, 1:-1], 1)   # a moved frame's edge pixels are blends with the outside: left out
    inside = [whole if is_identity(t) else edged for t in to_plate]
    if hidden is not None:
        inside = [i * (1 - hidden) for i in inside]
    # What each frame says of a pixel, in one image (one warp): 0 not seen, 1 seen on the person, 2 seen clear.
    sights = [i * (2 - cover) for i, cover in zip(inside, covers)]
    values_of = [corrected(frame, exposure) for frame, exposure in zip(frames, exposures)]
    values = np.empty((min(rows, height), width, 3, n), np.int16)
    sight = np.empty((min(rows, height), width, n), np.uint8)
    for top in range(0, height, rows):
        rows_here = min(rows, height - top)
        values, sight = values[:rows_here], sight[:rows_here]
        for k, (v, s, t) in enumerate(zip(values_of, sights, to_plate)):
            values[..., k] = in_plate_view(v, t, plate_size, top, rows_here, cv2.INTER_LINEAR)
            sight[..., k] = in_plate_view(s, t, plate_size, top, rows_here, cv2.INTER_NEAREST)
        # The N values of each pixel last, as int16: a value not seen clear gets 256 added, so it sorts
        # after every clear one, and the median of the c clear values lies at ranks (c-1)//2 and c//2.
        clear = sight == 2
        values += (~clear).astype(np.int16)[:, :, None, :] << 8
        values.sort(axis=-1)
        count = clear.sum(axis=-1, dtype=np.int16)
        middle = [np.repeat(rank[:, :, None, None], 3, axis=2)
                  for rank in ((np.maximum(count, 1) - 1) // 2, np.minimum(count // 2, n - 1))]
        low, high = (np.take_along_axis(values, rank, axis=-1)[..., 0] for rank in middle)
        plate[top:top + rows_here] = np.minimum((low + high + 1) // 2, 255)   # (never clear: filled later)
        clear_count[top:top + rows_here] = count
        seen_count[top:top + rows_here] = np.count_nonzero(sight, axis=-1)
    return plate, clear_count, seen_count


def plate_confidence(clear_count, seen_count):
    """uint8 0-255: 255 where enough of the frames that saw a pixel saw it clear of the person (CLEAR_SHARE,
    MIN_CLEAR), less where fewer did, 0 where none did."""
    needed = np.maximum(MIN_CLEAR, CLEAR_SHARE * seen_count.astype(np.float32))
    return np.round(255 * np.clip(clear_count / needed, 0, 1)).astype(np.uint8)


def fill_unknown(image, confidence):
    """`image` with its unknown pixels (confidence below 255) filled smoothly from the known ones around
    them: each level of an image pyramid averages the known pixels, and coarser levels fill the holes of
    finer ones (push-pull). No streaks (as inpainting leaves over a large hole), no made-up texture."""
    weight = (confidence == 255).astype(np.float32)
    if weight.all() or not weight.any():
        return image
    levels = [(image.astype(np.float32) * weight[..., None], weight)]
    while min(levels[-1][1].shape) > 2:
        levels.append((cv2.pyrDown(levels[-1][0]), cv2.pyrDown(levels[-1][1])))
    colour, known = levels[-1]
    fill = colour / np.maximum(known, 1e-6)[..., None]
    for colour, known in reversed(levels[:-1]):
        fill = cv2.resize(fill, known.shape[::-1], interpolation=cv2.INTER_LINEAR)
        share = np.clip(known * 4, 0, 1)[..., None]      # a pixel with a known neighbour keeps its own average
        fill = share * (colour / np.maximum(known, 1e-6)[..., None]) + (1 - share) * fill
    alpha = (confidence.astype(np.float32) / 255)[..., None]
    return np.clip(alpha * image + (1 - alpha) * fill, 0, 255).round().astype(np.uint8)


def fit_exposure(frame, seen, usable):
    """(gain (3,), offset (3,)) per colour with gain * frame + offset ~ seen (the plate as this frame sees
    it) over the `usable` pixels (the background, known to the plate), fitted by least squares twice, the
    second time without the pixels the first fit explained worst (a shadow, a missed edge)."""
    pick = np.flatnonzero(usable.ravel()[::7]) * 7       # a spread sample is plenty for 6 numbers
    if len(pick) < 100:
        return np.ones(3, np.float32), np.zeros(3, np.float32)
    x = frame.reshape(-1, 3)[pick].astype(np.float32)
    y = seen.reshape(-1, 3)[pick].astype(np.float32)
    gain, offset = np.ones(3, np.float32), np.zeros(3, np.float32)
    for c in range(3):
        keep = np.ones(len(pick), bool)
        for _ in range(2):
            if np.ptp(x[keep, c]) > 8:
                gain[c], offset[c] = np.polyfit(x[keep, c], y[keep, c], 1)
            else:   # a plain background: too little range to tell a gain from an offset
                gain[c], offset[c] = 1.0, np.mean(y[keep, c] - x[keep, c])
            residual = np.abs(gain[c] * x[:, c] + offset[c] - y[:, c])
            keep = residual <= max(3.0, 3 * np.median(residual))
    # A correction is kept only when it explains the frame clearly better than none (not for noise).
    before = np.abs(x - y).mean()
    after = np.abs(x * gain + offset - y).mean()
    if not (after < 0.9 * before and np.all((gain > 0.5) & (gain < 2))):
        return np.ones(3, np.float32), np.zeros(3, np.float32)
    return gain, offset


def fit_error(frames, covers, boxes, plate, known, to_plate, exposures):
    """The mean absolute difference (grey levels 0-255) between the frames, at the plate's exposure, and
    the plate as each saw it, over their pixels clear of the person and known to the plate inside their
    crop boxes, where the plate will be used. (Over the whole frame, title bands and far still corners
    would hide a camera that the plate does not explain.)"""
    total, count = 0.0, 0
    for frame, cover, (x0, y0, side), transform, exposure in zip(frames, covers, boxes, to_plate, exposures):
        height, width = frame.shape[:2]
        inside = np.s_[max(y0, 0):min(y0 + side, height), max(x0, 0):min(x0 + side, width)]
        seen = as_seen(plate, transform, None, width, height)[inside]
        clear = (1 - cover[inside]) * (as_seen(known, transform, None, width, height, cv2.INTER_NEAREST)[inside] > 0)
        pixels = cv2.countNonZero(clear)
        if pixels:
            difference = cv2.absdiff(corrected(frame, exposure)[inside], seen)
            total += np.mean(cv2.mean(difference, mask=clear.astype(np.uint8))[:3]) * pixels
            count += pixels
    return total / count if count else 255.0   # no background seen at all: nothing fits


def neighbour_differences(frames, covers, boxes, to_reference):
    """The mean grey-level difference between each frame and the next (N - 1 values), the next seen in
    the frame's view through their transforms to the reference view, over the pixels clear of the
    person in both, inside the frame's crop box (where the plate is used: not a letterbox or captions,
    which stand still when the camera moves). Small for a camera the transforms explain; large across
    a shot change."""
    differences = []
    for j in range(len(frames) - 1):
        height, width = frames[j].shape[:2]
        between = np.linalg.solve(to_reference[j], to_reference[j + 1])   # frame j+1 -> frame j
        x0, y0, side = boxes[j]
        clear = np.zeros((height, width), np.uint8)
        clear[max(y0, 0):max(y0 + side, 0), max(x0, 0):max(x0 + side, 0)] = 1
        clear *= 1 - covers[j]
        if is_identity(between):
            after, after_clear = frames[j + 1], 1 - covers[j + 1]
        else:
            after = cv2.warpPerspective(frames[j + 1], between, (width, height), flags=cv2.INTER_LINEAR)
            after_clear = cv2.warpPerspective(1 - covers[j + 1], between, (width, height), flags=cv2.INTER_NEAREST)
            after_clear = cv2.erode(after_clear, np.ones((3, 3), np.uint8))   # not the blended edge
        clear = clear * after_clear
        pixels = cv2.countNonZero(clear)
        differences.append(np.mean(cv2.mean(cv2.absdiff(frames[j], after), mask=clear)[:3]) if pixels else 0.0)
    return np.array(differences)


def shrunk(frames, covers, to_plate, plate_size, hidden, factor=QUICK_PLATE_SHRINK):
    """The same inputs `factor` times smaller in each direction: for the quick plate the exposures are
    fitted against. A cover or an overlay stays one wherever it touched a smaller pixel."""
    def shrink(image):
        return cv2.resize(image, (-(-image.shape[1] // factor), -(-image.shape[0] // factor)),
                          interpolation=cv2.INTER_AREA)

    def grown(mask):
        return (shrink(mask * 255) > 0).view(np.uint8)

    scale = np.diag([1 / factor, 1 / factor, 1.0])
    return ([shrink(f) for f in frames], [grown(c) for c in covers], [scale @ t @ np.linalg.inv(scale) for t in to_plate],
            (-(-plate_size[0] // factor), -(-plate_size[1] // factor)), None if hidden is None else grown(hidden))


def fitted_exposures(frames, covers, to_plate, plate_size, hidden):
    """Each frame's (gain, offset) to the exposure of a plate made of them all as they are; None for a frame
    whose exposure matches it already."""
    image, clear_count, seen_count = aligned_median(frames, covers, to_plate, plate_size, [None] * len(frames), hidden)
    known = (plate_confidence(clear_count, seen_count) == 255).view(np.uint8)
    height, width = frames[0].shape[:2]
    fitted = [fit_exposure(frame, as_seen(image, t, None, width, height),
                           (1 - cover) * (as_seen(known, t, None, width, height, cv2.INTER_NEAREST) > 0))
              for frame, cover, t in zip(frames, covers, to_plate)]
    return [None if steady(exposure, EXPOSURE_STEADY, 1.0) else exposure for exposure in fitted]


def background_plate(frames, covers, boxes, to_plate=None, plate_size=None, hidden=None):
    """The scene without the person, from frames placed in one view and where the person is in each.

    frames: N BGR frames (H, W, 3) uint8; covers: N uint8 (H, W), 1 where the person is (person_cover);
    boxes: the N crop boxes (x0, y0, side); to_plate: N 3x3 transforms, frame pixels -> plate pixels
    (default: the identity, a still camera); plate_size: (width, height) of the plate (default: the
    frames'); hidden: see aligned_median. Each frame's exposure is fitted against a quick plate
    (QUICK_PLATE_SHRINK times smaller each way: six numbers a frame need no more), then the plate is made of the frames at its exposure.
    Returns a Plate.
    """
    height, width = frames[0].shape[:2]
    if hidden is not None:   # what does not show the scene is never compared with the plate either
        covers = [np.maximum(cover, hidden) for cover in covers]
    to_plate = [np.eye(3)] * len(frames) if to_plate is None else list(to_plate)
    plate_size = plate_size or (width, height)
    exposures = fitted_exposures(*shrunk(frames, covers, to_plate, plate_size, hidden))
    image, clear_count, seen_count = aligned_median(frames, covers, to_plate, plate_size, exposures, hidden)
    confidence = plate_confidence(clear_count, seen_count)
    error = fit_error(frames, covers, boxes, image, (confidence == 255).view(np.uint8), to_plate, exposures)
    table = unchanged_exposures(len(frames))
    for k, exposure in enumerate(exposures):
        if exposure is not None:
            table[k] = exposure
    # What no frame showed (beyond every frame, behind an overlay) is filled too, and kept as known:
    # nothing better can be pasted there. Unsure stays what the person always hid.
    return Plate(fill_unknown(image, confidence), np.where(seen_count == 0, 255, confidence).astype(np.uint8),
                 table, error)

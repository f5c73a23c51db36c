"""The background plate: the room without the person, from the frames of a still camera.

Everybody Dance Now films its target with a still camera: only the person moves. VideoSkeleton
keeps, while it detects the poses, each frame's person mask (small: pack_mask), then makes the
plate of the whole video from up to PLATE_FRAMES frames spread over it: per pixel, the median of
the frames where that pixel is clear of the person (their mask grown by PLATE_MARGIN of the crop
side, to leave out their blurred edge and shadow), inpainted where the person always stands.
How well the plate fits those frames, away from the person, tells a still camera (a few grey
levels of difference: compression noise) from one that moves (PLATE_MAX_ERROR and more): a
moving camera gets no plate.

    plate, error = background_plate(frames, covers, boxes)
"""
import os
import zlib

import cv2
import numpy as np

PLATE_FRAMES = 50            # the median is taken over at most this many frames, spread over the video...
PLATE_FRAMES_BYTES = 400 << 20   # ... and at most this much memory of frames (fewer frames for a 4K video)
PLATE_MIN_FRAMES = 3         # with fewer, how well the plate fits would mean nothing
PLATE_MARGIN = 0.03          # the person's mask grows by this share of the crop side: their blurred edge, shadow
PLATE_MAX_ERROR = 7.0        # grey levels, as measured: still cameras fit their frames within 0.3-4 (the
                             # sample 0.5, physio_squat 0.8, afrobeat 3.9); a camera that pans after the dancer
                             # (course_taichi2) 9.8, a shot change (course_karate1) 8.8, the sample shaken 12-16
PLATE_STRIP_VALUES = 4 << 20     # the median works on strips of rows of about this many values (memory)


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


def background_plate(frames, covers, boxes):
    """The scene without the person, from frames of a still camera and where the person is in each.

    frames: N BGR frames (H, W, 3) uint8; covers: N uint8 (H, W), 1 where the person is (person_cover);
    boxes: the N crop boxes (x0, y0, side). Per pixel, the median of the frames where it is clear of
    the person; inpainted (Telea) where the person covers it in all of them.
    Returns (plate (H, W, 3) uint8, fit error): the mean absolute difference (grey levels 0-255)
    between the frames and the plate over their clear pixels inside their crop boxes, where the
    plate will be used. (Over the whole frame, title bands and far still corners would hide a
    camera that pans after the dancer: course_taichi2.mp4 fits within 4.8 there, 9.8 in the boxes.)
    """
    height, width = frames[0].shape[:2]
    n = len(frames)
    plate = np.empty((height, width, 3), np.uint8)
    nowhere = np.empty((height, width), np.uint8)     # 1 where the person covers the pixel in every frame
    rows = max(1, PLATE_STRIP_VALUES // (width * 3 * n))   # a strip of rows at a time: memory stays small
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        # The N values of each pixel last, as int16: a covered value gets 256 added, so it sorts
        # after every clear one, and the median of the c clear values lies at ranks (c-1)//2 and c//2.
        values = np.stack([frame[top:bottom] for frame in frames], axis=-1, dtype=np.int16)
        covered = np.stack([cover[top:bottom] for cover in covers], axis=-1, dtype=np.int16)
        values += (covered << 8)[:, :, None, :]
        values.sort(axis=-1)
        clear = n - covered.sum(axis=-1, dtype=np.int16)
        middle = [np.repeat(rank[:, :, None, None], 3, axis=2)
                  for rank in ((np.maximum(clear, 1) - 1) // 2, np.minimum(clear // 2, n - 1))]
        low, high = (np.take_along_axis(values, rank, axis=-1)[..., 0] for rank in middle)
        plate[top:bottom] = np.minimum((low + high + 1) // 2, 255)   # (covered everywhere: inpainted below)
        nowhere[top:bottom] = clear == 0
    if nowhere.any():
        plate = cv2.inpaint(plate, nowhere, 3, cv2.INPAINT_TELEA)

    total, count = 0.0, 0
    for frame, cover, (x0, y0, side) in zip(frames, covers, boxes):
        inside = np.s_[max(y0, 0):min(y0 + side, height), max(x0, 0):min(x0 + side, width)]
        clear = 1 - cover[inside]
        pixels = cv2.countNonZero(clear)
        if pixels:
            total += np.mean(cv2.mean(cv2.absdiff(frame[inside], plate[inside]), mask=clear)[:3]) * pixels
            count += pixels
    return plate, (total / count if count else 255.0)   # no background seen at all: nothing fits

"""How the camera moved: each kept frame's transform into one reference view.

Everybody Dance Now films its target with a locked camera. People film with phones that drift on
their tripod or in a hand, and many dance videos pan and zoom after the dancer. To give such a
video a background plate, every kept frame is placed in one common view (the first kept frame's),
from features of the background: corners found away from the person and away from what stands
still on the screen (a letterbox, captions, a logo: they would say the camera never moved).
What stands still is measured on a few frames spread over the whole video, before tracking (a
tracker that only knew the frames so far would leave out a still camera's whole background at
first, and follow whatever moves in what is left).

    still = StillPixels()
    for frame in STILL_SAMPLES frames spread over the video: still.add(small_grey(frame, scale))
    tracker = CameraTracker(width, height, still.mask())   # what stands still on the screen is left out
    for frame, cover in kept frames, in order:             # (pass 1, beside the pose detection)
        tracker.add(small_grey(frame, tracker.scale), cover)   # cover: 1 on the person
    tracker.transforms()   # (K, 3, 3): each kept frame's pixels -> reference view pixels

Each frame is matched to a keyframe (not only to the frame before it), so a still camera's
transforms do not drift by adding up small errors; a new keyframe is taken only when the view has
moved on (a pan), and transforms are chained through the keyframes. The model is a similarity
(shift, zoom, a small roll), fitted robustly (RANSAC) on the matches.
"""
import cv2
import numpy as np

TRACK_SIDE = 640          # features are found on the frame shrunk to this long side (speed; ample for a plate)
FEATURES = 1000           # corners per frame
RANSAC_PIXELS = 1.5       # a match agrees with a transform within this many pixels (at TRACK_SIDE)
MIN_INLIERS = 12          # fewer agreeing matches: the frames do not show the same view
NEW_KEYFRAME = 0.5        # a new keyframe once fewer than this share of the keyframe's best matches agree
STILL_SPREAD = 4.0        # grey levels: a pixel that varies less than this over the whole video stands still
STILL_SAMPLES = 8         # frames spread over the video that tell what stands still on the screen
STILL_CLOSE = 9           # still regions closed over gaps this wide (pixels at TRACK_SIDE): the letters of a caption
PERSON_MARGIN = 0.02      # corners this close to the person (a share of the frame's long side) are left out


def track_scale(width, height):
    return min(1.0, TRACK_SIDE / max(width, height))


def small_grey(frame, scale):
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    if scale == 1.0:
        return grey
    return cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


class StillPixels:
    """What stands still on the screen over a whole video: the spread of each pixel's grey level.

    In a video whose camera moves, a pixel that never changes is an overlay (a letterbox, a caption,
    a channel's logo), not the scene: its corners are left out of the tracking. (The spread is a
    standard deviation, not a range: the letters of a caption flicker a little with the compression.)"""

    def __init__(self):
        self.count, self.total, self.squares = 0, None, None

    def add(self, grey):
        """grey: an examined frame, shrunk (small_grey)."""
        if self.total is None:
            self.total, self.squares = np.zeros(grey.shape, np.float64), np.zeros(grey.shape, np.float64)
        self.count += 1
        cv2.accumulate(grey, self.total)
        cv2.accumulateSquare(grey, self.squares)

    def mask(self):
        """uint8 (small height, small width): 1 where the picture stood still in every frame; None before two."""
        if self.count < 2:
            return None
        mean = self.total / self.count
        spread = np.sqrt(np.maximum(self.squares / self.count - mean * mean, 0))
        still = (spread <= STILL_SPREAD).astype(np.uint8)
        still = cv2.morphologyEx(still, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))   # not lone pixels...
        # ...but the whole of a caption, gaps between its letters included.
        return cv2.morphologyEx(still, cv2.MORPH_CLOSE, np.ones((STILL_CLOSE, STILL_CLOSE), np.uint8))


class CameraTracker:
    """Follows the view from kept frame to kept frame (see the module's docstring)."""

    def __init__(self, width, height, still=None):
        self.scale = track_scale(width, height)
        self.still = still            # uint8 at the tracking size: 1 on what stands still on the screen
        self.orb = cv2.ORB_create(FEATURES, edgeThreshold=15, patchSize=15, fastThreshold=10)
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        self.to_reference = []        # per kept frame: 3x3, its pixels (at track scale) -> the reference view's
        self.key = self.previous = None   # (position, points, descriptors, best match count)
        self.margin = max(1, int(round(PERSON_MARGIN * TRACK_SIDE)))

    def features(self, grey, cover):
        allowed = np.full(grey.shape, 255, np.uint8)
        # The person (and a margin: their edge, their shadow) moves on its own.
        person = cv2.resize(cover, grey.shape[::-1], interpolation=cv2.INTER_NEAREST)
        allowed[cv2.dilate(person, np.ones((2 * self.margin + 1,) * 2, np.uint8)) > 0] = 0
        if self.still is not None:
            allowed[self.still > 0] = 0
        keypoints, descriptors = self.orb.detectAndCompute(grey, allowed)
        points = np.float32([k.pt for k in keypoints]).reshape(-1, 2)
        return points, descriptors

    def match(self, points, descriptors, other):
        """(3x3 transform: these points -> the other frame's, agreeing matches); (None, 0) when they disagree."""
        _, other_points, other_descriptors, _ = other
        if descriptors is None or other_descriptors is None or len(points) < 3 or len(other_points) < 3:
            return None, 0
        matches = self.matcher.match(descriptors, other_descriptors)
        if len(matches) < MIN_INLIERS:
            return None, 0
        source = points[[m.queryIdx for m in matches]]
        target = other_points[[m.trainIdx for m in matches]]
        transform, inliers = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC,
                                                         ransacReprojThreshold=RANSAC_PIXELS, maxIters=4000,
                                                         confidence=0.999, refineIters=20)
        count = 0 if inliers is None else int(inliers.sum())
        if transform is None or count < MIN_INLIERS:
            return None, 0
        return np.vstack([transform, [0, 0, 1]]), count

    def add(self, grey, cover):
        """Place the next kept frame in the reference view: grey, the frame shrunk (small_grey(frame,
        self.scale)); cover: uint8, 1 on the person (any size: it is shrunk likewise)."""
        position = len(self.to_reference)
        points, descriptors = self.features(grey, cover)
        if position == 0:
            self.to_reference.append(np.eye(3))
            self.key = self.previous = (0, points, descriptors, 0)
            return
        transform, count = self.match(points, descriptors, self.key)
        key = self.key
        if count < max(MIN_INLIERS, NEW_KEYFRAME * self.key[3]) and self.previous[0] != self.key[0]:
            # The view has moved on from the keyframe: the frame before becomes the keyframe.
            from_previous, previous_count = self.match(points, descriptors, self.previous)
            if previous_count > count:
                transform, count, key = from_previous, previous_count, self.previous
                self.key = key = (key[0], key[1], key[2], count)
        if transform is None:   # nothing in common (too little to see, or another shot): taken as still
            transform = np.eye(3)
        elif key is self.key and count > self.key[3]:
            self.key = (key[0], key[1], key[2], count)
        self.to_reference.append(self.to_reference[key[0]] @ transform)
        self.previous = (position, points, descriptors, count)

    def transforms(self):
        """(K, 3, 3) float64: each kept frame's full-resolution pixels -> the reference view's pixels."""
        down = np.diag([self.scale, self.scale, 1.0])
        up = np.diag([1 / self.scale, 1 / self.scale, 1.0])
        return np.array([up @ t @ down for t in self.to_reference]).reshape(-1, 3, 3)


def motion_summary(transforms, width, height):
    """(largest shift of the frame's centre in pixels, largest zoom factor) over the kept frames."""
    centre = np.array([width / 2, height / 2, 1.0])
    moved = transforms @ centre
    shift = float(np.max(np.linalg.norm(moved[:, :2] - centre[:2], axis=1))) if len(transforms) else 0.0
    scales = np.sqrt(np.abs(np.linalg.det(transforms[:, :2, :2]))) if len(transforms) else np.ones(1)
    zoom = float(max(scales.max(), 1 / scales.min()))
    return shift, zoom

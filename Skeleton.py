"""One human pose: the 33 landmarks of MediaPipe Pose.

    ske = Skeleton()
    if ske.fromImage(image):          # BGR image -> True when a person is found
        print(ske.reduce())           # the 26 numbers: 13 joints x (x, y)
        ske.draw_reduced(canvas)      # the stick figure the networks see

Coordinates: x, y in 0..1 of the image the pose was detected in (origin top
left, y down), z MediaPipe's relative depth (same scale as x), plus a
visibility in 0..1 for each landmark.
"""
import os

import cv2
import numpy as np

from DanceUtils import filter_native_stderr
from Vec3 import Vec3

os.environ.setdefault("GLOG_minloglevel", "2")  # quieten MediaPipe's C++ logging
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

LANDMARK_COUNT = 33
# The 13 joints of the reduced form, as MediaPipe indices, in the contract's order:
# nose, shoulders L/R, elbows L/R, wrists L/R, hips L/R, knees L/R, ankles L/R.
REDUCED_INDICES = np.array([0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])
REDUCED_NAMES = ("nose", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
                 "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")
# Positions of some joints inside the reduced 13.
R_NOSE, R_LSHOULDER, R_RSHOULDER, R_LHIP, R_RHIP, R_LANKLE, R_RANKLE = 0, 1, 2, 7, 8, 11, 12

# The stick figure: (from, to, BGR colour). Joints are indices into the reduced 13;
# "neck" (13) is the middle of the shoulders and "pelvis" (14) the middle of the hips.
# Each limb has its own colour so a network can tell left from right.
NECK, PELVIS = 13, 14
STICK_LIMBS = (
    (R_NOSE, NECK, (255, 255, 255)),   # head
    (NECK, 1, (0, 215, 255)),          # left collar bone
    (NECK, 2, (255, 191, 0)),          # right collar bone
    (1, 3, (0, 128, 255)),             # left upper arm
    (3, 5, (0, 0, 255)),               # left forearm
    (2, 4, (255, 0, 128)),             # right upper arm
    (4, 6, (255, 0, 0)),               # right forearm
    (NECK, PELVIS, (128, 128, 128)),   # spine
    (PELVIS, 7, (0, 255, 255)),        # left pelvis
    (PELVIS, 8, (255, 255, 0)),        # right pelvis
    (7, 9, (0, 255, 0)),               # left thigh
    (9, 11, (0, 128, 0)),              # left shin
    (8, 10, (255, 0, 255)),            # right thigh
    (10, 12, (128, 0, 128)),           # right shin
)

# MediaPipe's full-body connections, for drawing all 33 landmarks (face and hands included).
FULL_CONNECTIONS = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)


def line_width_for(image):
    """Stroke width in pixels that scales with the image (3 px at 128 px)."""
    return max(1, int(round(min(image.shape[:2]) / 42)))


def stick_points(reduced):
    """The 15 points of the stick figure from the 13 reduced joints (array (13, 2))."""
    reduced = np.asarray(reduced, dtype=np.float32).reshape(13, 2)
    neck = (reduced[R_LSHOULDER] + reduced[R_RSHOULDER]) / 2
    pelvis = (reduced[R_LHIP] + reduced[R_RHIP]) / 2
    return np.vstack([reduced, neck, pelvis])


class Skeleton:
    reduced_dim = 26   # 13 joints x (x, y)
    full_dim = 99      # 33 landmarks x (x, y, z)

    def __init__(self, landmarks=None, visibility=None):
        """An empty pose (all zeros), or one made from a (33, 3) array."""
        self.landmarks = np.zeros((LANDMARK_COUNT, 3), np.float32)
        self.visibility = np.ones(LANDMARK_COUNT, np.float32)
        if landmarks is not None:
            landmarks = np.asarray(landmarks, dtype=np.float32)
            if landmarks.shape != (LANDMARK_COUNT, 3):
                raise ValueError(f"landmarks must have shape (33, 3), not {landmarks.shape}")
            self.landmarks[:] = landmarks
        if visibility is not None:
            self.visibility[:] = np.asarray(visibility, dtype=np.float32)

    @classmethod
    def from_reduced(cls, reduced):
        """A skeleton whose 13 reduced joints are `reduced` (26 numbers); other landmarks stay 0."""
        ske = cls()
        ske.landmarks[REDUCED_INDICES, :2] = np.asarray(reduced, dtype=np.float32).reshape(13, 2)
        return ske

    # ------------------------------------------------------------------ detection
    def fromImage(self, image):
        """Detect the pose in a single BGR image (static mode). True when a person is found."""
        found = static_detector().detect(image)
        if found is None:
            return False
        self.landmarks[:], self.visibility[:] = found.landmarks, found.visibility
        return True

    from_image = fromImage

    # ------------------------------------------------------------------ forms
    def __array__(self, dtype=None, copy=None, reduced=False):
        """Flat array: 99 numbers (33 x (x, y, z)), or the 26 of the reduced form."""
        out = self.landmarks[REDUCED_INDICES, :2].reshape(-1) if reduced else self.landmarks.reshape(-1)
        return out.astype(dtype or np.float32, copy=True)

    def reduce(self):
        """The reduced form: 13 joints in 2D, 26 float32 numbers (see REDUCED_NAMES)."""
        return self.__array__(reduced=True)

    def joint(self, index):
        """Landmark `index` (MediaPipe numbering) as a Vec3."""
        return Vec3.from_array(self.landmarks[index])

    def copy(self):
        return Skeleton(self.landmarks, self.visibility)

    # ------------------------------------------------------------------ geometry
    def distance(self, other, reduced=True):
        """Euclidean distance between two poses.

        reduced=True: between the 26-number forms, i.e. the square root of the sum
        of squared 2D distances of the 13 joints (what GenNearest minimises).
        reduced=False: the sum of the 3D distances of the 33 landmarks (the course's).
        """
        if reduced:
            return float(np.linalg.norm(self.reduce() - other.reduce()))
        return float(np.linalg.norm(self.landmarks - other.landmarks, axis=1).sum())

    def crop(self, xmin, ymin, width, height):
        """Re-express the landmarks in the window (xmin, ymin, width, height) of the image.

        All four numbers are fractions of the current image; z follows x's scale.
        """
        self.landmarks[:, 0] = (self.landmarks[:, 0] - xmin) / width
        self.landmarks[:, 1] = (self.landmarks[:, 1] - ymin) / height
        self.landmarks[:, 2] = self.landmarks[:, 2] / width
        return self

    def boundingBox(self):
        """(xmin, ymin, xmax, ymax) of the 33 landmarks, in image fractions."""
        xy = self.landmarks[:, :2]
        xmin, ymin = xy.min(axis=0)
        xmax, ymax = xy.max(axis=0)
        return float(xmin), float(ymin), float(xmax), float(ymax)

    bounding_box = boundingBox

    # ------------------------------------------------------------------ drawing
    def draw(self, image, color=(0, 255, 0)):
        """Draw all 33 landmarks and MediaPipe's connections onto `image`, in place."""
        h, w = image.shape[:2]
        width = max(1, line_width_for(image) // 2)  # thinner than the stick figure: the photo stays visible
        pts = np.round(self.landmarks[:, :2] * (w, h)).astype(np.int32)
        for a, b in FULL_CONNECTIONS:
            cv2.line(image, tuple(map(int, pts[a])), tuple(map(int, pts[b])), color, width, cv2.LINE_AA)
        for p in pts:
            cv2.circle(image, tuple(map(int, p)), width, (0, 0, 255), -1, cv2.LINE_AA)
        return image

    def draw_reduced(self, image):
        """Draw the 13-joint stick figure onto `image`, in place: one fixed colour per limb."""
        draw_stick_figure(image, self.reduce())
        return image

    def __repr__(self):
        x0, y0, x1, y1 = self.boundingBox()
        return f"Skeleton(box=({x0:.2f}, {y0:.2f}, {x1:.2f}, {y1:.2f}))"


def draw_stick_figure(image, reduced):
    """Draw the stick figure of 26 reduced numbers onto `image` (in place)."""
    h, w = image.shape[:2]
    width = line_width_for(image)
    pts = np.round(stick_points(reduced) * (w, h)).astype(np.int32)
    for a, b, color in STICK_LIMBS:
        cv2.line(image, tuple(map(int, pts[a])), tuple(map(int, pts[b])), color, width, cv2.LINE_AA)
    return image


class PoseDetector:
    """MediaPipe Pose, created once and reused for many images.

    static_image_mode=True treats each image on its own (single photos);
    False tracks the person from one frame to the next (a video, faster and steadier).
    """

    def __init__(self, static_image_mode=True, smooth_landmarks=True):
        # MediaPipe and TensorFlow Lite print their own log lines on stderr: a user sees only ours.
        filter_native_stderr()
        import mediapipe as mp

        # model_complexity=1 is the model MediaPipe ships; 0 and 2 would be downloaded.
        self.pose = mp.solutions.pose.Pose(static_image_mode=static_image_mode, model_complexity=1,
                                           smooth_landmarks=smooth_landmarks, enable_segmentation=False)

    def detect(self, image):
        """The Skeleton found in a BGR image, or None when there is no person."""
        results = self.pose.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        if results.pose_landmarks is None:
            return None
        lm = results.pose_landmarks.landmark
        landmarks = np.array([(p.x, p.y, p.z) for p in lm], dtype=np.float32)
        visibility = np.array([p.visibility for p in lm], dtype=np.float32)
        return Skeleton(landmarks, visibility)

    def close(self):
        self.pose.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_STATIC_DETECTOR = None


def static_detector():
    """The one static-mode detector that fromImage() reuses (creating one costs ~100 ms)."""
    global _STATIC_DETECTOR
    if _STATIC_DETECTOR is None:
        _STATIC_DETECTOR = PoseDetector(static_image_mode=True)
    return _STATIC_DETECTOR


# ---------------------------------------------------------------------- sequences of poses
# These work on arrays of many poses at once: landmarks (N, 33, 3), or reduced joints (N, 13, 2).

def reduced_joints(landmarks):
    """The 13 reduced joints of one or many poses: (..., 33, 3) -> (..., 13, 2)."""
    return np.asarray(landmarks)[..., REDUCED_INDICES, :2]


def body_height(reduced):
    """Height from the nose to the lower ankle, per pose: (..., 13, 2) -> (...)."""
    ground = np.maximum(reduced[..., R_LANKLE, 1], reduced[..., R_RANKLE, 1])
    return ground - reduced[..., R_NOSE, 1]


def body_anchor(reduced):
    """Where a person stands, per pose: x of the pelvis, y of the lower ankle (the ground)."""
    pelvis_x = (reduced[..., R_LHIP, 0] + reduced[..., R_RHIP, 0]) / 2
    ground = np.maximum(reduced[..., R_LANKLE, 1], reduced[..., R_RANKLE, 1])
    return np.stack([pelvis_x, ground], axis=-1)


class PoseNormalizer:
    """Map the source dancer's poses into the target's frame (as in Everybody Dance Now).

    A tall, small or off-centre source must still drive a well-placed target, so every
    source pose is scaled by (target's median body height / source's median body height)
    and moved so that the source's median standing point (pelvis x, ground y) lands on the
    target's. Medians over whole sequences ignore a few bad detections.
    """

    def __init__(self, source_landmarks, target_landmarks):
        """Both (N, 33, 3) sequences in square-crop coordinates (x, y in 0..1)."""
        src, tgt = reduced_joints(source_landmarks), reduced_joints(target_landmarks)
        self.scale = float(np.median(body_height(tgt)) / max(np.median(body_height(src)), 1e-6))
        self.source_anchor = np.median(body_anchor(src), axis=0)
        self.target_anchor = np.median(body_anchor(tgt), axis=0)

    def __call__(self, landmarks):
        """Normalise (..., 33, 3) landmarks (a copy is returned)."""
        out = np.array(landmarks, dtype=np.float32, copy=True)
        out[..., :2] = (out[..., :2] - self.source_anchor) * self.scale + self.target_anchor
        out[..., 2] *= self.scale
        return out

    def skeleton(self, ske):
        """Normalise one Skeleton."""
        return Skeleton(self(ske.landmarks), ske.visibility)


def smooth_sequence(landmarks, found=None, sigma=1.5):
    """Centred Gaussian smoothing over time of a whole sequence (N, 33, 3): no lag.

    `found` (N,) marks frames that have a pose; the others neither contribute nor
    change. sigma is in frames. A still pose stays exactly still.
    """
    landmarks = np.asarray(landmarks, dtype=np.float32)
    n = len(landmarks)
    found = np.ones(n, bool) if found is None else np.asarray(found, bool)
    radius = max(1, int(round(3 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2).astype(np.float32)
    total = np.zeros_like(landmarks)
    weight = np.zeros(n, np.float32)
    present = landmarks * found[:, None, None]
    for offset, k in zip(offsets, kernel):  # a loop over the few kernel taps, not over frames
        lo, hi = max(0, -offset), min(n, n - offset)
        total[lo:hi] += k * present[lo + offset:hi + offset]
        weight[lo:hi] += k * found[lo + offset:hi + offset]
    smoothed = total / np.maximum(weight, 1e-8)[:, None, None]
    return np.where(found[:, None, None], smoothed, landmarks)


class OneEuroFilter:
    """Causal smoothing for live input (Casiez et al., CHI 2012): steady when still, quick when moving.

    The cut-off frequency rises with the speed, so slow jitter is removed while
    fast moves are followed with little lag.
    """

    def __init__(self, min_cutoff=1.5, beta=2.0, d_cutoff=1.0):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.previous = None
        self.speed = None

    @staticmethod
    def _alpha(cutoff, dt):
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def reset(self):
        self.previous = None

    def __call__(self, value, dt):
        value = np.asarray(value, dtype=np.float32)
        if self.previous is None:
            self.previous, self.speed = value.copy(), np.zeros_like(value)
            return value.copy()
        speed = (value - self.previous) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        self.speed = a_d * speed + (1 - a_d) * self.speed
        cutoff = self.min_cutoff + self.beta * np.abs(self.speed)
        a = self._alpha(cutoff, dt)
        self.previous = a * value + (1 - a) * self.previous
        return self.previous.copy()


def jitter(landmarks, found=None):
    """Mean frame-to-frame acceleration of the 13 reduced joints (lower is steadier)."""
    joints = reduced_joints(landmarks)
    accel = np.linalg.norm(joints[2:] - 2 * joints[1:-1] + joints[:-2], axis=-1)
    if found is not None:
        found = np.asarray(found, bool)
        accel = accel[found[2:] & found[1:-1] & found[:-2]]
    return float(accel.mean()) if accel.size else 0.0

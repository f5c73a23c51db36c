"""One human pose: the 33 landmarks of MediaPipe Pose.

    ske = Skeleton()
    if ske.fromImage(image):          # BGR image -> True when a person is found
        print(ske.reduce())           # the 26 numbers: 13 joints x (x, y)
        ske.draw_reduced(canvas)      # the stick figure the networks see

Coordinates: x, y in 0..1 of the image the pose was detected in (origin top
left, y down), z MediaPipe's relative depth (same scale as x), plus a
visibility in 0..1 for each landmark.

Many poses over time (normalisation, smoothing, jitter) are SkeletonSequence.py's.
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


def reduced_joints(landmarks):
    """The 13 reduced joints of one or many poses: (..., 33, 3) -> (..., 13, 2)."""
    return np.asarray(landmarks)[..., REDUCED_INDICES, :2]


def torso_length(reduced):
    """The torso's length, mid-shoulders to mid-hips, of reduced joints: (13, 2) -> float, (..., 13, 2) -> (...).

    The body's own unit of length, whatever its distance to the camera: DanceEval divides
    its pose error by it.
    """
    reduced = np.asarray(reduced)
    shoulders = (reduced[..., R_LSHOULDER, :] + reduced[..., R_RSHOULDER, :]) / 2
    hips = (reduced[..., R_LHIP, :] + reduced[..., R_RHIP, :]) / 2
    length = np.linalg.norm(shoulders - hips, axis=-1)
    return float(length) if length.ndim == 0 else length


def stick_points(reduced):
    """The 15 points of the stick figure from the 13 reduced joints (array (13, 2))."""
    reduced = np.asarray(reduced, dtype=np.float32).reshape(13, 2)
    neck = (reduced[R_LSHOULDER] + reduced[R_RSHOULDER]) / 2
    pelvis = (reduced[R_LHIP] + reduced[R_RHIP]) / 2
    return np.vstack([reduced, neck, pelvis])


class Skeleton:
    reduced_dim = 26   # 13 joints x (x, y)

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

    # ------------------------------------------------------------------ forms
    def __array__(self, dtype=None, copy=None, reduced=False):
        """Flat array: 99 numbers (33 x (x, y, z)), or the 26 of the reduced form."""
        out = reduced_joints(self.landmarks).reshape(-1) if reduced else self.landmarks.reshape(-1)
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
    segmentation=True also asks MediaPipe for the person's mask (about 40 % more time per
    image): after each detect(), `last_mask` is float32 (H, W) in 0..1 at the image's
    resolution, 1 on the person, or None when no person was found.
    """

    def __init__(self, static_image_mode=True, smooth_landmarks=True, segmentation=False):
        # MediaPipe and TensorFlow Lite print their own log lines on stderr: a user sees only ours.
        filter_native_stderr()
        import mediapipe as mp

        # model_complexity=1 is the model MediaPipe ships; 0 and 2 would be downloaded. The
        # segmentation comes with it. Its smoothing, like the landmarks', assumes consecutive frames.
        self.segmentation = segmentation
        self.last_mask = None
        self.pose = mp.solutions.pose.Pose(static_image_mode=static_image_mode, model_complexity=1,
                                           smooth_landmarks=smooth_landmarks, enable_segmentation=segmentation,
                                           smooth_segmentation=segmentation and smooth_landmarks)

    def detect(self, image):
        """The Skeleton found in a BGR image, or None when there is no person (see also `last_mask`)."""
        results = self.pose.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        self.last_mask = None
        if results.pose_landmarks is None:
            return None
        if self.segmentation and results.segmentation_mask is not None:
            # A copy: MediaPipe's array is a view of its own buffer, which the next image may reuse.
            self.last_mask = np.array(results.segmentation_mask, dtype=np.float32)
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

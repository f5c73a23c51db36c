"""Many poses over time: the tools that work on a whole sequence of skeletons at once.

Arrays, not lists of Skeleton: landmarks (N, 33, 3) as VideoSkeleton and DanceDemo hold them,
or reduced joints (N, 13, 2) from Skeleton.reduced_joints. One pose is Skeleton.py's job;
this module only imports from it.

    normalizer = PoseNormalizer(source_landmarks, target.landmarks)   # fitted once per video
    poses = normalizer(smooth_sequence(source_landmarks, found))      # what the generator sees
    print(jitter(source_landmarks, found), jitter(poses, found))      # how much steadier

Normalisation: PoseNormalizer, body_height, body_anchor. A generator only knows the poses of
its training video: the target person at their own size, standing where the camera saw them.
A source dancer filmed closer, farther or off to one side would ask for a pose the target
never took (a giant, a person half out of the crop), and the generator answers with nonsense.
So, as Everybody Dance Now does, every source pose is first mapped into the target's frame:
scaled by the ratio of the two people's body heights (body_height: nose to the lower ankle)
and moved so that the source's standing point (body_anchor: pelvis x, ground y) lands on the
target's. Both are medians over whole sequences, so a few bad detections do not move them.

Smoothing: smooth_sequence, OneEuroFilter. MediaPipe finds each frame's pose on its own, so
the joints shake by a pixel or two from frame to frame; the generators turn that shaking into
a flickering person. A whole video is known in advance, so smooth_sequence averages each
joint over the frames around it (a centred Gaussian: no lag). A camera is not: a centred
filter would have to wait for the future. The One Euro filter (Casiez et al., CHI 2012) only
uses the past, and adapts: when a joint moves slowly it smooths hard (the shaking is what
shows), when it moves fast it smooths little (the lag is what would show).

Measure: jitter, the mean frame-to-frame acceleration of the 13 joints, says how much the
smoothing gains (benchmarks/bench_demo.py).
"""
import numpy as np

from Skeleton import R_LANKLE, R_LHIP, R_NOSE, R_RANKLE, R_RHIP, Skeleton, reduced_joints


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

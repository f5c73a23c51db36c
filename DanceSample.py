"""A synthetic dancer: demo videos that ship with the project.

Why: the demo needs two videos of people dancing (a *target* person, whose
appearance we learn, and a *source* person, whose moves we copy), but footage
of real people may not be committed. So the project renders its own: a
cartoon dancer drawn with OpenCV, realistic enough that MediaPipe Pose finds
it in (nearly) every frame, like it would a real person.

How:
  1. `dance_pose(t, style)` moves a small kinematic body (bone lengths in
     metres, joint angles that change with the time t) and returns the 33
     MediaPipe landmarks it would have, in image fractions. `style` 0 and 1
     are two related choreographies, so the source and target do not move
     the same way (the point of motion transfer). The body is DancePose.py's.
  2. `render_dancer(landmarks, w, h, look)` draws a person over those
     landmarks, in a room: shadow, shaded limbs, shirt, trousers, face.
     The room is filmed by a still camera, as Everybody Dance Now films its
     targets: wall, floor boards, a door, a picture, a shelf of books, a rug,
     the same in every frame, with texture and edges that no pose predicts.
     `render_background(w, h, look)` draws the room alone: what a background
     plate (VideoSkeleton.py) should recover. The room is DanceScenery.py's.
  3. `make_sample()` renders both videos and saves, beside each, the known
     skeleton of every frame (`*_truth.npz`), which tests use to check that
     MediaPipe sees what was drawn.
  4. `make_target_variant(kind=...)` films the same target as people really
     film (CAMERA_KINDS: auto-exposure, a drifting tripod, a pan and zoom, a
     dancer who never leaves their spot, a shot change), with the truth of
     each frame: skeleton, camera motion, brightness gain. The background
     plate code is tested against them.

    python DanceSample.py                  # writes data/sample/ (a few seconds)
"""
import argparse
import math
import os
import time

import cv2
import numpy as np

from DancePose import (FLOOR_Y, L_ANKLE, L_EAR, L_ELBOW, L_EYE, L_EYE_INNER, L_EYE_OUTER, L_FOOT, L_HEEL, L_HIP,
                       L_INDEX, L_KNEE, L_PINKY, L_SHOULDER, L_THUMB, L_WRIST, MOUTH_L, MOUTH_R, NOSE, R_ANKLE,
                       R_EAR, R_ELBOW, R_EYE, R_EYE_INNER, R_EYE_OUTER, R_FOOT, R_HEEL, R_HIP, R_INDEX, R_KNEE,
                       R_PINKY, R_SHOULDER, R_THUMB, R_WRIST, SPINE, dance_pose, ease)
from DanceScenery import BEIGE_ROOM, BLUE_ROOM, GREEN_ROOM, render_background, shade, world_background
from DanceUtils import DATA_DIR, DanceError, atomic_path, check_output_folder, run_cli, shown

SAMPLE_DIR = os.path.join(DATA_DIR, "sample")   # where the sample goes by default (the project's data folder)
MAX_SECONDS = 600                               # ten minutes of video is already 15 000 frames per dancer

# How people really film: the target filmed in other ways, with the truth (make_target_variant).
CAMERA_KINDS = ("still", "exposure", "drift", "pan", "spot", "cut")
EXPOSURE_GAIN = (0.80, 0.96)   # gain over the clip: +20 % (0.96 / 0.80), from under 1 so the white wall never clips
DRIFT_PX = 6.0                 # the tripod's slow drift over the clip, pixels
DRIFT_SCALE = 0.005            # ... its breathing zoom: scale within 1 +- this
DRIFT_DEGREES = 0.3            # ... and how far it turns
SHAKE_PX = 2.0                 # per-frame shake before smoothing (about 1.2 px once smoothed)
DRIFT_SEED = 7                 # the shake is random, but the same in every run
PAN_WIDTHS = 0.30              # the pan: how far the view travels, in frame widths (at the still sample's scale)
PAN_ZOOM = 1.2                 # ... while zooming in by this much
PAN_START_SCALE = 0.8          # the pan starts zoomed out, so that the zoomed-in dancer still fits the frame
PAN_MIDDLE_Y = 0.515           # the height (frame fraction) the pan keeps in the middle: the dancer's, head to toe
CUT_SCALE = 0.85               # after the cut: the second camera stands further away ...
CUT_FEET = (0.42, 0.87)        # ... and sees the dancer's feet here (frame fractions), left of the middle


# ---------------------------------------------------------------- the drawing
# A look: the room the dancer stands in (DanceScenery.py), and the dancer's own colours (BGR).
TARGET_LOOK = dict(BLUE_ROOM,
                   skin=(150, 185, 230), hair=(30, 45, 70), eyes=(60, 40, 30),
                   shirt=(50, 45, 200), trousers=(110, 65, 35), shoes=(235, 235, 235),
                   long_hair=False)
SOURCE_LOOK = dict(BEIGE_ROOM,
                   skin=(70, 110, 165), hair=(20, 20, 25), eyes=(20, 20, 20),
                   shirt=(80, 170, 50), trousers=(45, 40, 40), shoes=(40, 40, 160),
                   long_hair=True)
CUT_LOOK = dict(TARGET_LOOK, **GREEN_ROOM)   # the same dancer, in another room


SHIFT = 4                 # OpenCV draws with 1/16 pixel precision: smooth motion, no jitter
ONE = 1 << SHIFT


def _p(xy):
    return int(round(float(xy[0]) * ONE)), int(round(float(xy[1]) * ONE))


def _limb(img, a, b, width, color):
    """A limb as a shaded capsule: dark rim, base colour, lighter middle."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    for k, w, lift in ((0.6, 1.0, 0.0), (1.0, 0.8, 0.0), (1.18, 0.45, 0.12)):
        off = np.array([-lift, -lift]) * width          # the highlight leans toward the light (top left)
        cv2.line(img, _p(a + off), _p(b + off), shade(color, k), max(1, int(round(w * width))),
                 cv2.LINE_AA, SHIFT)


def _ellipse(img, centre, axes, angle, color, thickness=-1, start=0, end=360):
    cv2.ellipse(img, _p(centre), (int(axes[0] * ONE), int(axes[1] * ONE)), angle, start, end, color,
                thickness, cv2.LINE_AA, SHIFT)


def _poly(img, pts, color):
    cv2.fillPoly(img, [np.round(np.asarray(pts) * ONE).astype(np.int32)], color, cv2.LINE_AA, SHIFT)


def _shaded_poly(img, pts, color):
    """A filled polygon, lighter toward its middle, as a lit rounded body."""
    pts = np.asarray(pts, float)
    centre = pts.mean(axis=0) + np.array([-0.04, -0.06]) * np.ptp(pts, axis=0)
    for k, shrink in ((0.75, 1.0), (1.0, 0.93), (1.07, 0.6)):
        _poly(img, centre + (pts - centre) * shrink, shade(color, k))


def _draw_arm(img, P, m, look, side):
    sh, el, wr = (L_SHOULDER, L_ELBOW, L_WRIST) if side > 0 else (R_SHOULDER, R_ELBOW, R_WRIST)
    pinky, index, thumb = (L_PINKY, L_INDEX, L_THUMB) if side > 0 else (R_PINKY, R_INDEX, R_THUMB)
    _limb(img, P[el], P[wr], 0.085 * m, look["skin"])                  # bare forearm
    sleeve_end = P[sh] + (P[el] - P[sh]) * 0.75                          # short sleeve
    _limb(img, P[el], sleeve_end, 0.09 * m, look["skin"])
    _limb(img, P[sh], sleeve_end, 0.115 * m, look["shirt"])
    # Hand: a palm toward the knuckles, four fingers together, and a thumb.
    knuckles = (P[pinky] + P[index]) / 2
    axis = knuckles - P[wr]
    _limb(img, P[wr], knuckles + 0.15 * axis, 0.085 * m, look["skin"])
    _limb(img, knuckles, knuckles + 0.9 * axis, 0.07 * m, shade(look["skin"], 0.97))
    _limb(img, P[wr] + 0.3 * axis, P[thumb] + 0.4 * (P[thumb] - P[wr]), 0.035 * m, look["skin"])


def _draw_leg(img, P, m, look, side):
    hip, knee, ankle = (L_HIP, L_KNEE, L_ANKLE) if side > 0 else (R_HIP, R_KNEE, R_ANKLE)
    heel, toe = (L_HEEL, L_FOOT) if side > 0 else (R_HEEL, R_FOOT)
    _limb(img, P[knee], P[ankle], 0.14 * m, look["trousers"])
    _limb(img, P[hip], P[knee], 0.17 * m, look["trousers"])
    # Shoe: seen from the front, a rounded block from the ankle down to the toes.
    _limb(img, P[heel], P[toe], 0.11 * m, look["shoes"])
    _limb(img, P[ankle], (P[ankle] + P[toe]) / 2, 0.1 * m, look["shoes"])


def _draw_torso(img, P, m, look):
    l_sh, r_sh, l_hip, r_hip = P[L_SHOULDER], P[R_SHOULDER], P[L_HIP], P[R_HIP]
    chest, pelvis = (l_sh + r_sh) / 2, (l_hip + r_hip) / 2
    up = (chest - pelvis) / (np.linalg.norm(chest - pelvis) + 1e-9)
    left = np.array([-up[1], up[0]])                    # toward the dancer's left (image right)
    if left.dot(l_sh - r_sh) < 0:
        left = -left
    # Trousers: waistband and seat, so the legs join into one garment.
    _shaded_poly(img, [l_hip + left * 0.08 * m + up * 0.1 * m, l_hip + left * 0.07 * m - up * 0.02 * m,
                       l_hip - up * 0.12 * m, pelvis - up * 0.14 * m, r_hip - up * 0.12 * m,
                       r_hip - left * 0.07 * m - up * 0.02 * m, r_hip - left * 0.08 * m + up * 0.1 * m],
                 look["trousers"])
    # Shirt: shoulders, armpits, a narrower waist, down over the hips.
    _shaded_poly(img, [l_sh + left * 0.06 * m + up * 0.02 * m, chest + left * 0.07 * m + up * 0.06 * m,
                       chest - left * 0.07 * m + up * 0.06 * m, r_sh - left * 0.06 * m + up * 0.02 * m,
                       r_sh - left * 0.03 * m - up * 0.17 * m, pelvis - left * 0.15 * m + up * 0.22 * m,
                       r_hip - left * 0.08 * m + up * 0.04 * m, l_hip + left * 0.08 * m + up * 0.04 * m,
                       pelvis + left * 0.15 * m + up * 0.22 * m, l_sh + left * 0.03 * m - up * 0.17 * m],
                 look["shirt"])
    # Collar opening: a bit of skin under the neck.
    _ellipse(img, chest + up * 0.045 * m, (0.06 * m, 0.03 * m), 0, look["skin"])


def _draw_head(img, P, m, look):
    ear_mid = (P[L_EAR] + P[R_EAR]) / 2
    eye_line = P[L_EYE] - P[R_EYE]
    angle = np.degrees(np.arctan2(eye_line[1], eye_line[0]))
    up = np.array([eye_line[1], -eye_line[0]]) / (np.linalg.norm(eye_line) + 1e-9)
    head = ear_mid - up * 0.005 * m
    skin, hair = look["skin"], look["hair"]
    for ear in (P[L_EAR], P[R_EAR]):
        _ellipse(img, ear, (0.018 * m, 0.03 * m), angle, shade(skin, 0.9))
    # Hair cap, then the face over its lower part, so the hair frames the face.
    _ellipse(img, head + up * 0.018 * m, (0.088 * m, 0.11 * m), angle, hair)
    _ellipse(img, head - up * 0.008 * m, (0.077 * m, 0.108 * m), angle, shade(skin, 0.85))
    _ellipse(img, head - up * 0.012 * m, (0.07 * m, 0.1 * m), angle, skin)
    _ellipse(img, head + up * 0.07 * m, (0.08 * m, 0.045 * m), angle, hair, start=180, end=360)  # fringe
    # Eyes: white, iris, brows; a nose; a mouth.
    for inner, mid, outer in ((L_EYE_INNER, L_EYE, L_EYE_OUTER), (R_EYE_INNER, R_EYE, R_EYE_OUTER)):
        w = np.linalg.norm(P[outer] - P[inner]) / 2 + 0.004 * m
        _ellipse(img, P[mid], (w, 0.011 * m), angle, (245, 245, 245))
        _ellipse(img, P[mid], (0.008 * m, 0.008 * m), 0, look["eyes"])
        brow = P[mid] + up * 0.022 * m
        cv2.line(img, _p(brow - eye_line * 0.25), _p(brow + eye_line * 0.25), shade(look["hair"], 0.8),
                 max(1, int(0.008 * m)), cv2.LINE_AA, SHIFT)
    eyes_mid = (P[L_EYE] + P[R_EYE]) / 2
    cv2.line(img, _p(eyes_mid - up * 0.005 * m), _p(P[NOSE]), shade(skin, 0.8), max(1, int(0.007 * m)),
             cv2.LINE_AA, SHIFT)
    _ellipse(img, P[NOSE], (0.012 * m, 0.007 * m), angle, shade(skin, 0.8))
    cv2.line(img, _p(P[MOUTH_L]), _p(P[MOUTH_R]), (60, 60, 150), max(1, int(0.01 * m)), cv2.LINE_AA, SHIFT)


def render_dancer(landmarks, width, height, appearance, background=None):
    """Draw the dancer whose 33 landmarks (image fractions) are given.

    Returns a uint8 BGR image (height, width, 3). Parts are drawn back to
    front, so an arm in front of the chest hides it and one behind is hidden.
    `background`: the room to draw them in (height, width, 3); by default the
    look's own room (`render_background`).
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    P = lm[:, :2] * (width, height)                     # pixels
    chest = (P[L_SHOULDER] + P[R_SHOULDER]) / 2
    pelvis = (P[L_HIP] + P[R_HIP]) / 2
    m = np.linalg.norm(chest - pelvis) / SPINE           # pixels per metre of body
    look = appearance
    img = render_background(width, height, look) if background is None else background.copy()

    # A soft shadow on the floor under the feet (blurred only in its own box).
    feet = P[[L_HEEL, R_HEEL, L_FOOT, R_FOOT]]
    cx, cy = feet[:, 0].mean(), feet[:, 1].max() + 0.01 * m
    rx, ry = (np.ptp(feet[:, 0]) / 2 + 0.25 * m), 0.06 * m
    x0, x1 = int(max(cx - rx * 1.6, 0)), int(min(cx + rx * 1.6, width))
    y0, y1 = int(max(cy - ry * 3, 0)), int(min(cy + ry * 3, height))
    if x1 > x0 and y1 > y0:
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        _ellipse(mask, (cx - x0, cy - y0), (rx, ry), 0, 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), ry * 0.6 + 1)[..., None] * 0.45
        img[y0:y1, x0:x1] = (img[y0:y1, x0:x1] * (1 - mask)).astype(np.uint8)

    # Back to front: legs, arms behind the body, neck, torso, head, arms in front.
    torso_z = lm[[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP], 2].mean()
    for side in sorted((+1, -1), key=lambda s: -lm[L_KNEE if s > 0 else R_KNEE, 2]):
        _draw_leg(img, P, m, look, side)
    arm_z = {s: lm[[L_ELBOW, L_WRIST] if s > 0 else [R_ELBOW, R_WRIST], 2].mean() for s in (+1, -1)}
    behind = [s for s in (+1, -1) if arm_z[s] > torso_z + 0.02]
    for side in sorted(behind, key=lambda s: -arm_z[s]):
        _draw_arm(img, P, m, look, side)
    head_base = (P[L_EAR] + P[R_EAR]) / 2
    if look.get("long_hair"):                           # hair falling to the shoulders, behind the neck
        _limb(img, head_base, head_base + (chest - head_base) * 0.9, 0.17 * m, look["hair"])
    _limb(img, chest, head_base + (chest - head_base) * 0.3, 0.1 * m, shade(look["skin"], 0.9))  # neck
    _draw_torso(img, P, m, look)
    _draw_head(img, P, m, look)
    for side in sorted((s for s in (+1, -1) if s not in behind), key=lambda s: -arm_z[s]):
        _draw_arm(img, P, m, look, side)
    return img


# ---------------------------------------------------------------- the files
def sample_paths(out_dir=SAMPLE_DIR):
    """The four files make_sample writes, by name."""
    return {
        "target_video": os.path.join(out_dir, "sample_target.mp4"),
        "target_truth": os.path.join(out_dir, "sample_target_truth.npz"),
        "source_video": os.path.join(out_dir, "sample_source.mp4"),
        "source_truth": os.path.join(out_dir, "sample_source_truth.npz"),
    }


def _write_mp4(video_path, images, fps, width, height):
    """Write the BGR images (any iterable: they are rendered one at a time) to an mp4, atomically."""
    with atomic_path(video_path) as tmp:     # the temp name ends in .mp4: OpenCV picks the container from it
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        if not writer.isOpened():
            raise DanceError(f"{video_path}: OpenCV cannot write mp4 videos here")
        try:
            for img in images:
                writer.write(img)
        finally:
            writer.release()


def _write_video(video_path, truth_path, look, style, frames, fps, width, height):
    """Render one dancer to an mp4 and its known landmarks to an npz, each atomically."""
    landmarks = np.stack([dance_pose(i / fps, style, aspect=width / height) for i in range(frames)])
    _write_mp4(video_path, (render_dancer(lm, width, height, look) for lm in landmarks), fps, width, height)
    with atomic_path(truth_path) as tmp:
        np.savez(tmp, landmarks=landmarks.astype(np.float32), frame=np.arange(frames),
                 fps=np.float32(fps))


def _frame_count(seconds, fps):
    """How many frames `seconds` of video holds at `fps`; a one-line error when none or not a number."""
    if not math.isfinite(seconds * fps):
        raise DanceError(f"--seconds {seconds:g}: must be a finite number")
    frames = int(round(seconds * fps))
    if frames < 1:
        raise DanceError(f"--seconds {seconds}: too short for even one frame at {fps} fps")
    return frames


def make_sample(out_dir=SAMPLE_DIR, seconds=12.0, fps=25, width=480, height=480, force=False):
    """Write the demo videos and their known skeletons into `out_dir`.

    sample_target.mp4 (TARGET_LOOK, style 0) and sample_source.mp4
    (SOURCE_LOOK, style 1), each with a *_truth.npz beside it holding
    `landmarks` float32 (N, 33, 3) in frame fractions and `frame` (N,).
    Nothing is rendered when the four files already exist, unless `force`.
    Returns the paths (see `sample_paths`).
    """
    paths = sample_paths(out_dir)
    if not force and all(os.path.exists(p) for p in paths.values()):
        return paths
    frames = _frame_count(seconds, fps)
    os.makedirs(out_dir, exist_ok=True)
    _write_video(paths["target_video"], paths["target_truth"], TARGET_LOOK, 0, frames, fps, width, height)
    _write_video(paths["source_video"], paths["source_truth"], SOURCE_LOOK, 1, frames, fps, width, height)
    return paths


# ---------------------------------------------------------------- how people really film
def variant_paths(out_dir, kind):
    """The two files make_target_variant writes for `kind`, by name."""
    return {"video": os.path.join(out_dir, f"target_{kind}.mp4"),
            "truth": os.path.join(out_dir, f"target_{kind}_truth.npz")}


def _similarity(scale, angle, world_point, frame_point):
    """3x3 world pixels -> frame pixels: turn by `angle` (radians) and scale about `world_point`,
    which lands on `frame_point`."""
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    a = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    a[:2, 2] = np.asarray(frame_point, float) - a[:2, :2] @ np.asarray(world_point, float)
    return a


def _drift_path(frames, width, height, origin):
    """World -> frame (N, 3, 3) of a camera on a tripod, or in a steady hand: it slowly drifts,
    breathes and turns a little over the clip, and shakes by a pixel or two from frame to frame."""
    rng = np.random.default_rng(DRIFT_SEED)
    u = np.linspace(0.0, 1.0, frames)
    heading = rng.uniform(0, 2 * np.pi)
    drift = DRIFT_PX * ease(u)[:, None] * (np.cos(heading), np.sin(heading))
    # White noise is too jumpy for a hand: average each frame's shake with its neighbours'.
    noise = rng.normal(0.0, SHAKE_PX, (frames + 2, 2))
    shake = (noise[:-2] + 2 * noise[1:-1] + noise[2:]) / 4
    scale = 1 + DRIFT_SCALE * np.sin(2 * np.pi * u)     # starts at 1, so frame 0 is at the still scale
    angle = np.radians(DRIFT_DEGREES) * ease(u) * rng.choice((-1, 1))
    centre = np.array([width / 2, height / 2])
    return np.stack([_similarity(scale[i], angle[i], centre + origin, centre + drift[i] + shake[i])
                     for i in range(frames)])


def _pan_path(frames, width, height, origin):
    """World -> frame (N, 3, 3) of a camera operator who reframes: a smooth pan across the room
    of PAN_WIDTHS frame widths, zooming in by PAN_ZOOM, starting and stopping gently."""
    e = ease(np.linspace(0.0, 1.0, frames))
    scale = PAN_START_SCALE * (1 + (PAN_ZOOM - 1) * e)
    # The view starts left of the dancer (who stands in the world's middle) and ends right of them.
    look_at = np.stack([width * (0.5 + PAN_WIDTHS * (e - 0.5)), np.full(frames, height * PAN_MIDDLE_Y)], 1)
    centre = (width / 2, height / 2)
    return np.stack([_similarity(scale[i], 0.0, look_at[i] + origin, centre) for i in range(frames)])


def _filmed(poses, to_frame, width, height, origin=(0, 0)):
    """The landmarks (N, 33, 3) of `poses` (frame fractions of the still camera, placed at `origin`
    in the world's pixels) as cameras `to_frame` (N, 3, 3) film them: frame fractions again,
    z scaled like x and y."""
    px = poses[..., :2] * (width, height) + origin
    xy = np.einsum("nij,nkj->nki", to_frame[:, :2, :2], px) + to_frame[:, None, :2, 2]
    scale = np.sqrt(np.abs(np.linalg.det(to_frame[:, :2, :2])))
    out = np.empty_like(poses)
    out[..., :2] = xy / (width, height)
    out[..., 2] = poses[..., 2] * scale[:, None]
    return out


def make_target_variant(out_dir=SAMPLE_DIR, kind="still", seconds=4.0, fps=25, width=320, height=240,
                        force=False):
    """The target (TARGET_LOOK, style 0) filmed as people really film, with the truth.

    Writes `<out_dir>/target_<kind>.mp4` and `<out_dir>/target_<kind>_truth.npz` (nothing is
    rendered when both exist, unless `force`) and returns {"video": path, "truth": path}.
    Deterministic: the same arguments give the same frames.

    kind (CAMERA_KINDS):
      still     the still camera of sample_target.
      exposure  still camera; the picture brightens linearly by 20 % over the clip, as a phone's
                auto-exposure does: frame = gain_t * rendering, gain 0.80 -> 0.96 (EXPOSURE_GAIN;
                it starts below 1 so the bright wall never clips).
      drift     a tripod or steady hand: drifts DRIFT_PX = 6 px over the clip (eased), breathes
                (scale 1 +- 0.005) and turns (up to 0.3 degree), plus a smoothed random shake of
                about 1.2 px per frame (seed DRIFT_SEED).
      pan       a camera operator reframes: a smooth pan of 30 % of the frame width (in the world's
                pixels) across the room while zooming in by 1.2 (scale 0.8 -> 0.96 of the still
                sample's), eased at both ends; the dancer stays whole in every frame.
      spot      still camera; the dancer's feet never leave their spot (`dance_pose(planted=True)`),
                so the pixels behind their body are covered in every frame.
      cut       a shot change at frame N // 2: the second shot films the same dance in another room
                (CUT_LOOK's colours, the furniture mirrored), from further away (scale CUT_SCALE, the
                feet at CUT_FEET); both shots are still cameras.
    The moving cameras film a "world" image twice the frame's size (DanceScenery's `world_background`:
    the still room continued on every side, the dancer at its middle at the still sample's size)
    through a per-frame similarity (cv2.warpAffine, bilinear).

    The truth npz (N frames; pixel coordinates have pixel centres at integers, as OpenCV's):
      landmarks  float32 (N, 33, 3): the drawn skeleton in frame fractions (x of the width, y of the
                 height), as MediaPipe reports it; z scaled with the camera's zoom.
      frame      int (N,): 0 .. N-1.          fps  float32.
      camera     float64 (N, 3, 3): the homography (here a similarity) that maps frame t's PIXELS to
                 the reference view, its shot's first frame: frame 0, or frame `cut` for the frames
                 from the cut on. So cv2.warpPerspective(frame_t, camera[t], (W, H)) shows frame t as
                 that first frame saw the room. Identity for the still kinds (and for both shots of
                 "cut", each filmed by a still camera).
      gain, offset  float32 (N, 3) per BGR channel: frame_t = gain_t * scene + offset_t (before
                 rounding to uint8), the scene being what the camera's view holds at the still
                 sample's brightness; gain is 1 and offset 0 but for "exposure".
      cut        int: the first frame of the second shot, or -1.     kind  str: `kind`.
      plate      uint8 (H, W, 3): the room without the dancer (nor their shadow) in frame 0's view,
                 at scene brightness: what a background plate of the first shot should recover.
      plate_cut  ("cut" only) uint8 (H, W, 3): the same for the second shot, in frame `cut`'s view.
    """
    if kind not in CAMERA_KINDS:
        raise ValueError(f"kind must be one of {CAMERA_KINDS}, not {kind!r}")
    paths = variant_paths(out_dir, kind)
    if not force and all(os.path.exists(p) for p in paths.values()):
        return paths
    frames = _frame_count(seconds, fps)
    poses = np.stack([dance_pose(i / fps, 0, aspect=width / height, planted=kind == "spot")
                      for i in range(frames)])
    look = TARGET_LOOK
    truth = dict(landmarks=poses, frame=np.arange(frames), fps=np.float32(fps),
                 camera=np.tile(np.eye(3), (frames, 1, 1)), gain=np.ones((frames, 3), np.float32),
                 offset=np.zeros((frames, 3), np.float32), cut=np.int64(-1), kind=np.str_(kind),
                 plate=render_background(width, height, look))

    if kind in ("drift", "pan"):
        world, origin = world_background(width, height, look)
        size = world.shape[1], world.shape[0]
        path = (_drift_path if kind == "drift" else _pan_path)(frames, width, height, origin)
        # The dancer drawn in the world: the still frame's pixels, moved to the world's middle.
        in_world = poses.copy()
        in_world[..., :2] = (poses[..., :2] * (width, height) + origin) / size
        in_world[..., 2] *= width / size[0]
        images = (cv2.warpAffine(render_dancer(lm, *size, look, background=world), a[:2], (width, height),
                                 flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                  for lm, a in zip(in_world, path))
        truth["landmarks"] = _filmed(poses, path, width, height, origin)
        truth["camera"] = path[0] @ np.linalg.inv(path)
        truth["plate"] = cv2.warpAffine(world, path[0][:2], (width, height), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REPLICATE)
    elif kind == "cut":
        cut = frames // 2
        second = _similarity(CUT_SCALE, 0.0, (width / 2, height * FLOOR_Y),
                             (width * CUT_FEET[0], height * CUT_FEET[1]))
        after = np.tile(np.eye(3), (frames, 1, 1))
        after[cut:] = second
        truth["landmarks"] = _filmed(poses, after, width, height)
        # Another room: its own colours, and the furniture on the other side.
        room = np.ascontiguousarray(render_background(width, height, CUT_LOOK)[:, ::-1])
        images = (render_dancer(lm, width, height, look, background=room if i >= cut else None)
                  for i, lm in enumerate(truth["landmarks"]))
        truth.update(cut=np.int64(cut), plate_cut=room)
    else:
        images = (render_dancer(lm, width, height, look) for lm in poses)

    if kind == "exposure":
        ramp = np.linspace(*EXPOSURE_GAIN, frames, dtype=np.float32)
        truth["gain"] = np.repeat(ramp[:, None], 3, axis=1)
        images = (np.clip(np.rint(img * g + o), 0, 255).astype(np.uint8)
                  for img, g, o in zip(images, truth["gain"], truth["offset"]))

    os.makedirs(out_dir, exist_ok=True)
    _write_mp4(paths["video"], images, fps, width, height)
    truth["landmarks"] = truth["landmarks"].astype(np.float32)
    with atomic_path(paths["truth"]) as tmp:
        np.savez(tmp, **truth)
    return paths


def main():
    parser = argparse.ArgumentParser(
        description="Render the demo's two synthetic dancers (target and source videos, "
                    "plus their known skeletons).")
    parser.add_argument("--out", default=SAMPLE_DIR,
                        help="folder to write the videos and *_truth.npz files into (default: data/sample)")
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="length of each video in seconds, at 25 fps (default: %(default)s)")
    parser.add_argument("--force", action="store_true",
                        help="render again even if the files already exist")
    args = parser.parse_args()
    if not (math.isfinite(args.seconds) and 0 < args.seconds <= MAX_SECONDS):
        raise DanceError(f"--seconds {args.seconds:g}: must be more than 0 and at most {MAX_SECONDS}")
    check_output_folder(args.out, create=args.out == SAMPLE_DIR)
    start = time.perf_counter()
    paths = sample_paths(args.out)
    existed = all(os.path.exists(p) for p in paths.values())
    make_sample(args.out, seconds=args.seconds, force=args.force)
    with np.load(paths["target_truth"], allow_pickle=False) as truth:
        frames = len(truth["frame"])
    verb = "kept existing" if existed and not args.force else "wrote"
    print(f"{verb} {len(paths)} files in {shown(args.out)} ({frames} frames per video) "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    run_cli(main)

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
     the same way (the point of motion transfer).
  2. `render_dancer(landmarks, w, h, look)` draws a person over those
     landmarks, in a room: shadow, shaded limbs, shirt, trousers, face.
     The room is filmed by a still camera, as Everybody Dance Now films its
     targets: wall, floor boards, a door, a picture, a shelf of books, a rug,
     the same in every frame, with texture and edges that no pose predicts.
     `render_background(w, h, look)` draws the room alone: what a background
     plate (VideoSkeleton.py) should recover.
  3. `make_sample()` renders both videos and saves, beside each, the known
     skeleton of every frame (`*_truth.npz`), which tests use to check that
     MediaPipe sees what was drawn.

    python DanceSample.py                  # writes data/sample/ (a few seconds)
"""
import argparse
import math
import os
import time

import cv2
import numpy as np

from DanceUtils import DATA_DIR, DanceError, atomic_path, check_output_folder, run_cli, shown

SAMPLE_DIR = os.path.join(DATA_DIR, "sample")   # where the sample goes by default (the project's data folder)
MAX_SECONDS = 600                               # ten minutes of video is already 15 000 frames per dancer

# MediaPipe PoseLandmark indices used below (the full list is in its enum order).
NOSE = 0
L_EYE_INNER, L_EYE, L_EYE_OUTER, R_EYE_INNER, R_EYE, R_EYE_OUTER = 1, 2, 3, 4, 5, 6
L_EAR, R_EAR, MOUTH_L, MOUTH_R = 7, 8, 9, 10
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_PINKY, R_PINKY, L_INDEX, R_INDEX, L_THUMB, R_THUMB = 17, 18, 19, 20, 21, 22
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28
L_HEEL, R_HEEL, L_FOOT, R_FOOT = 29, 30, 31, 32

# ---------------------------------------------------------------- the body
# Bone lengths of a 1.72 m adult, in metres. Real proportions matter:
# MediaPipe was trained on real people and misplaces joints on odd bodies.
SHOULDER_HALF = 0.19      # centre of the chest to a shoulder joint
HIP_HALF = 0.10           # centre of the pelvis to a hip joint
SPINE = 0.50              # hip centre to shoulder centre
UPPER_ARM, FOREARM = 0.30, 0.26
THIGH, SHIN = 0.44, 0.42
ANKLE_HEIGHT = 0.08
HIP_HEIGHT = 0.925        # standing, knees very slightly bent

# Body metres -> image fractions. The floor line and the scale keep raised hands
# and stretched arms inside the frame with a margin.
FLOOR_Y = 0.90            # image y of the ground under the dancer
SCALE = 0.37              # frame heights per metre (the dancer is ~64% of the frame)
CAMERA_TILT = 0.3         # the camera looks slightly down: nearer points appear lower

# Choreographies. Each row is a key pose, held around one beat; the body eases
# from one to the next. Angles in degrees from "arm hanging down", positive
# outwards (away from the body), in the plane facing the camera:
#   l_upper, l_fore: left upper arm and forearm   r_upper, r_fore: right arm
#   l_fwd, r_fwd: how far the whole arm swings toward the camera
#   squat: how much the hips drop (metres), i.e. how much the knees bend.
KEY_COLUMNS = ("l_upper", "l_fore", "r_upper", "r_fore", "l_fwd", "r_fwd", "squat")
STYLES = {
    0: dict(  # the target: big open arm shapes, side steps
        beat=0.75, step=0.14, wave=20.0, keys=np.array([
            (20, 25, 20, 25, 0, 0, 0.00),        # relaxed
            (95, 160, 95, 160, 0, 0, 0.06),      # "goal posts", knees bent
            (145, 160, 145, 160, 0, 0, 0.00),    # V up
            (90, 100, 90, 100, 0, 0, 0.03),      # arms out
            (160, 170, 55, 25, 0, 0, 0.00),      # left arm up
            (55, 25, 160, 170, 0, 0, 0.00),      # right arm up
            (90, 45, 90, 140, 10, 10, 0.05),     # a wave running along the arms
            (90, 140, 90, 45, 10, 10, 0.00),
        ], np.float32)),
    1: dict(  # the source: quicker, arms more in front, pointing and clapping
        beat=0.6, step=0.10, wave=14.0, keys=np.array([
            (30, 80, 30, 80, 35, 35, 0.04),      # forearms up in front
            (45, 165, 20, 10, 15, 0, 0.00),      # point up, left
            (20, 10, 45, 165, 0, 15, 0.00),      # point up, right
            (70, 125, 70, 125, 20, 20, 0.07),    # elbows out, squat
            (130, 145, 30, 35, 0, 0, 0.00),
            (30, 35, 130, 145, 0, 0, 0.00),
            (15, -25, 15, -25, 35, 35, 0.04),    # clap in front of the belly
            (100, 105, 100, 105, 0, 0, 0.00),    # arms out
        ], np.float32)),
}


def _ease(x):
    """Smooth 0 -> 1 (zero speed at both ends), so moves start and stop softly."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _key_pose(t, style):
    """The key-pose row at time t: eased from one key to the next on each beat."""
    keys, beat = style["keys"], style["beat"]
    u = t / beat
    i = int(np.floor(u))
    frac = _ease((u - i - 0.25) / 0.75)   # hold the pose a quarter beat, then move
    a, b = keys[i % len(keys)], keys[(i + 1) % len(keys)]
    return dict(zip(KEY_COLUMNS, a + (b - a) * frac))


def _rot(v, angle):
    """Rotate the (x, y) of a body vector by `angle` radians in the camera's plane.

    Positive angles turn "up" toward the dancer's left (the image right)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([v[0] * c + v[1] * s, -v[0] * s + v[1] * c, v[2]])


def _arm_dir(side, elevation, fwd, lean):
    """Unit vector of an arm bone: `elevation` degrees out from hanging down,
    tilted `fwd` degrees toward the camera, in the frame of the leaning torso."""
    e, f = np.radians(elevation), np.radians(fwd)
    d = np.array([side * np.sin(e) * np.cos(f), -np.cos(e) * np.cos(f), np.sin(f)])
    return _rot(d, lean)


def _knee(hip, ankle, side):
    """Place the knee between hip and ankle (two-bone inverse kinematics).

    The knee bends forward and a little outward, as in a dancer's plie; when
    the foot is out of reach the leg is straightened toward it."""
    leg = ankle - hip
    d = np.linalg.norm(leg)
    axis = leg / d
    d = min(d, (THIGH + SHIN) * 0.999)
    along = (THIGH ** 2 - SHIN ** 2 + d ** 2) / (2 * d)
    out = np.sqrt(max(THIGH ** 2 - along ** 2, 0.0))
    bend = np.array([0.35 * side, 0.0, 1.0])           # forward, a little outward
    bend -= axis * bend.dot(axis)
    bend /= np.linalg.norm(bend)
    knee = hip + axis * along + bend * out
    return knee, hip + axis * d                         # ankle, moved into reach if needed


def _travel(t, style):
    """How far (metres) the body has travelled sideways at time t: a slow side-to-side."""
    return style["step"] * np.sin(2 * np.pi * t / (8 * style["beat"]))


def _foot(t, style, phase):
    """(x, lift) of one foot at time t, in metres.

    Feet step one at a time (lift, move, land) to follow the body's sideways
    travel instead of sliding: each stands still for half a beat, then moves
    during the other half to where the body will be."""
    beat = style["beat"]
    u = t / beat - phase
    k = np.floor(u)
    moving = np.clip((u - k - 0.5) * 2, 0.0, 1.0)
    landed = (k + _ease(moving) + phase) * beat
    return _travel(landed + beat / 2, style), 0.06 * np.sin(np.pi * moving)


def dance_pose(t, style=0, aspect=1.0):
    """The 33 MediaPipe landmarks of the dancer at time `t` (seconds).

    Returns float32 (33, 3): x, y in fractions of a frame `aspect` = width/height
    (origin top left, y down), z MediaPipe's relative depth (hips at 0, same
    scale as x, negative toward the camera). The dancer faces the camera, so
    their left side is on the image right.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {sorted(STYLES)}, not {style!r}")
    st = STYLES[style]
    key = _key_pose(t, st)
    beat = st["beat"]
    sway_phase = 2 * np.pi * t / (2 * beat)

    # Body space: x toward the dancer's left, y up, z toward the camera (metres).
    lx, l_lift = _foot(t, st, 0.0)
    rx, r_lift = _foot(t, st, 0.5)
    l_ankle = np.array([lx + 0.14, ANKLE_HEIGHT + l_lift, 0.0])
    r_ankle = np.array([rx - 0.14, ANKLE_HEIGHT + r_lift, 0.0])

    bounce = 0.025 * (0.5 - 0.5 * np.cos(2 * np.pi * t / beat))    # knees give on every beat
    sway = 0.035 * np.sin(sway_phase)
    pelvis = np.array([_travel(t, st) + sway, HIP_HEIGHT - key["squat"] - bounce, 0.0])
    hip_roll = np.radians(-5.0) * np.sin(sway_phase)               # the hip we sway to rises
    lean = np.radians(-6.0) * np.sin(sway_phase) + np.radians(2.0) * np.sin(2 * np.pi * t / (3 * beat))
    twist = np.radians(8.0) * np.sin(2 * np.pi * t / (4 * beat))   # shoulders turn a little

    l_hip = pelvis + _rot(np.array([HIP_HALF, 0.0, 0.0]), hip_roll)
    r_hip = pelvis + _rot(np.array([-HIP_HALF, 0.0, 0.0]), hip_roll)
    l_knee, l_ankle = _knee(l_hip, l_ankle, +1)
    r_knee, r_ankle = _knee(r_hip, r_ankle, -1)

    up = _rot(np.array([0.0, 1.0, 0.0]), lean)
    chest = pelvis + up * SPINE
    across = _rot(np.array([np.cos(twist), 0.0, -np.sin(twist)]), lean) * SHOULDER_HALF
    l_sh, r_sh = chest + across, chest - across

    # Arms: angles from the key pose plus a small wave that ripples along the forearms.
    wave = st["wave"] * np.sin(2 * np.pi * t / beat)
    l_el = l_sh + UPPER_ARM * _arm_dir(+1, key["l_upper"], key["l_fwd"], lean)
    r_el = r_sh + UPPER_ARM * _arm_dir(-1, key["r_upper"], key["r_fwd"], lean)
    l_fore = _arm_dir(+1, key["l_fore"] + wave, key["l_fwd"], lean)
    r_fore = _arm_dir(-1, key["r_fore"] - wave, key["r_fwd"], lean)
    l_wr, r_wr = l_el + FOREARM * l_fore, r_el + FOREARM * r_fore

    # Head: stays more upright than the torso, nods and turns a little.
    head_roll = -0.5 * lean + np.radians(4.0) * np.sin(2 * np.pi * t / (2 * beat) + 1.0)
    head_yaw = np.radians(12.0) * np.sin(2 * np.pi * t / (4 * beat) + 0.5)
    head = chest + up * 0.07 + _rot(np.array([0.0, 0.105, 0.0]), head_roll)

    def face(x, y, z):
        # A point on the face, turned with the head (yaw, then roll).
        c, s = np.cos(head_yaw), np.sin(head_yaw)
        return head + _rot(np.array([x * c + z * s, y, -x * s + z * c]), head_roll)

    pts = np.zeros((33, 3))
    pts[NOSE] = face(0.0, -0.015, 0.10)
    for sgn, (inner, mid, outer) in ((+1, (L_EYE_INNER, L_EYE, L_EYE_OUTER)),
                                     (-1, (R_EYE_INNER, R_EYE, R_EYE_OUTER))):
        pts[inner] = face(sgn * 0.015, 0.02, 0.085)
        pts[mid] = face(sgn * 0.032, 0.02, 0.08)
        pts[outer] = face(sgn * 0.048, 0.02, 0.07)
    pts[L_EAR], pts[R_EAR] = face(0.075, 0.005, 0.0), face(-0.075, 0.005, 0.0)
    pts[MOUTH_L], pts[MOUTH_R] = face(0.024, -0.055, 0.085), face(-0.024, -0.055, 0.085)

    pts[[L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST]] = l_sh, r_sh, l_el, r_el, l_wr, r_wr
    for sgn, wr, fore, (pinky, index, thumb) in ((+1, l_wr, l_fore, (L_PINKY, L_INDEX, L_THUMB)),
                                                 (-1, r_wr, r_fore, (R_PINKY, R_INDEX, R_THUMB))):
        # The hand continues the forearm; the thumb is on the side toward the camera.
        side = np.cross(fore, np.array([0.0, 0.0, 1.0]))
        side = side / (np.linalg.norm(side) + 1e-9) * sgn
        pts[pinky] = wr + 0.08 * fore + 0.025 * side - np.array([0, 0, 0.01])
        pts[index] = wr + 0.09 * fore - 0.01 * side + np.array([0, 0, 0.02])
        pts[thumb] = wr + 0.05 * fore - 0.03 * side + np.array([0, 0, 0.04])

    pts[[L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE]] = l_hip, r_hip, l_knee, r_knee, l_ankle, r_ankle
    for sgn, ank, heel, toe in ((+1, l_ankle, L_HEEL, L_FOOT), (-1, r_ankle, R_HEEL, R_FOOT)):
        pts[heel] = ank + np.array([0.0, -0.05, -0.06])
        pts[toe] = ank + np.array([sgn * 0.04, -0.06, 0.16])   # toes turned slightly out

    # Body metres -> image fractions (orthographic camera, slightly from above).
    out = np.empty((33, 3), np.float32)
    out[:, 0] = 0.5 + pts[:, 0] * SCALE / aspect
    out[:, 1] = FLOOR_Y - (pts[:, 1] - CAMERA_TILT * pts[:, 2]) * SCALE
    out[:, 2] = -(pts[:, 2] - pelvis[2]) * SCALE / aspect
    return out


# ---------------------------------------------------------------- the drawing
TARGET_LOOK = dict(
    wall_top=(205, 190, 170), wall_bottom=(235, 225, 210),     # BGR: soft blue-grey wall
    floor_far=(120, 150, 180), floor_near=(80, 110, 145),        # wooden floor
    skin=(150, 185, 230), hair=(30, 45, 70), eyes=(60, 40, 30),
    shirt=(50, 45, 200), trousers=(110, 65, 35), shoes=(235, 235, 235),
    long_hair=False,
)
SOURCE_LOOK = dict(
    wall_top=(150, 200, 220), wall_bottom=(190, 225, 240),     # warm beige wall
    floor_far=(175, 175, 170), floor_near=(135, 135, 130),       # grey floor
    skin=(70, 110, 165), hair=(20, 20, 25), eyes=(20, 20, 20),
    shirt=(80, 170, 50), trousers=(45, 40, 40), shoes=(40, 40, 160),
    long_hair=True,
)

_BACKGROUNDS = {}
HORIZON = 0.68            # image y where the wall meets the floor


def _shade(color, k):
    """`color` made darker (k < 1) or lighter (k > 1)."""
    return tuple(min(255, max(0, int(c * k))) for c in color)


def _background(look, width, height):
    """The empty room: wall and floor in the look's colours, and still furniture. Cached, as the
    camera is still: the same in every frame."""
    key = tuple(tuple(look[k]) for k in ("wall_top", "wall_bottom", "floor_far", "floor_near")) + (width, height)
    if key not in _BACKGROUNDS:
        img = np.empty((height, width, 3), np.uint8)
        horizon = int(height * HORIZON)
        u = np.linspace(0.0, 1.0, horizon)[:, None]
        img[:horizon] = (np.array(look["wall_top"]) * (1 - u) + np.array(look["wall_bottom"]) * u)[:, None, :]
        v = np.linspace(0.0, 1.0, height - horizon)[:, None]
        img[horizon:] = (np.array(look["floor_far"]) * (1 - v) + np.array(look["floor_near"]) * v)[:, None, :]
        _furnish(img, look)
        cv2.line(img, (0, horizon), (width, horizon), _shade(look["wall_bottom"], 0.7), max(2, height // 120))
        _BACKGROUNDS[key] = img
    return _BACKGROUNDS[key].copy()


def render_background(width, height, look=TARGET_LOOK):
    """The room alone, without the dancer (nor their shadow): what a background plate should recover."""
    return _background(look, width, height)


def _furnish(img, look):
    """Draw, in place, what a real room has and a network could not guess from a pose: floor boards,
    a rug, a door in its frame, a framed picture, a shelf with books and a plant, a skirting board.

    All of it stays clear of the dancer (whose hands reach x = 0.2..0.8 of the width and y = 0.1), so
    MediaPipe finds them as well as over a bare wall; in fractions of the frame, so any size works.
    """
    for part in FURNITURE:
        part(img, look)


# Drawing in fractions of the frame (x of the width, y of the height).
def _box(img, x0, y0, x1, y1, color, thickness=-1):
    h, w = img.shape[:2]
    cv2.rectangle(img, (int(x0 * w), int(y0 * h)), (int(x1 * w), int(y1 * h)), color, thickness, cv2.LINE_AA)


def _fill(img, points, color):
    h, w = img.shape[:2]
    cv2.fillPoly(img, [np.round(np.asarray(points) * (w, h)).astype(np.int32)], color, cv2.LINE_AA)


def _thin(img):
    """The width of a thin line: 1 pixel at 240 pixels high."""
    return max(1, round(img.shape[0] / 240))


def _floor_boards(img, look):
    """Seams across the floor, each row of boards with its joints shifted."""
    h, w = img.shape[:2]
    seam, thin = _shade(look["floor_near"], 0.8), _thin(img)
    for row, y in enumerate(np.linspace(HORIZON, 1.0, 9)[1:-1]):
        cv2.line(img, (0, int(y * h)), (w, int(y * h)), seam, thin, cv2.LINE_AA)
        for x in np.arange(0.07 + 0.11 * (row % 3), 1.0, 0.33):
            cv2.line(img, (int(x * w), int(y * h)), (int(x * w), int((y + 0.04) * h)), seam, thin, cv2.LINE_AA)


def _rug(img, look):
    """A rug in perspective on the floor at the front left: a border, then rows of diamonds."""
    left, right, far, near = 0.02, 0.30, 0.80, 0.98
    _fill(img, [(left + 0.03, far), (right, far), (right + 0.01, near), (left, near)], (40, 40, 150))
    _fill(img, [(left + 0.045, far + 0.015), (right - 0.015, far + 0.015), (right - 0.01, near - 0.015),
                (left + 0.02, near - 0.015)], (120, 170, 210))
    for row, y in enumerate(np.linspace(far + 0.04, near - 0.04, 4)):
        for x in np.linspace(left + 0.06, right - 0.035, 5 + row % 2):
            _fill(img, [(x, y - 0.014), (x + 0.016, y), (x, y + 0.014), (x - 0.016, y)],
                  (60, 90, 30) if row % 2 else (30, 60, 160))


def _door(img, look):
    """A door on the left wall: its white frame, four panels, a brass knob."""
    h, w = img.shape[:2]
    _box(img, 0.02, 0.20, 0.17, HORIZON, (235, 235, 235))
    _box(img, 0.035, 0.225, 0.155, HORIZON, (60, 95, 140))
    for x0, x1 in ((0.05, 0.09), (0.10, 0.14)):
        for y0, y1 in ((0.25, 0.40), (0.44, 0.64)):
            _box(img, x0, y0, x1, y1, (45, 75, 115), _thin(img))
    cv2.circle(img, (int(0.137 * w), int(0.43 * h)), max(2, int(0.008 * h)), (60, 190, 230), -1, cv2.LINE_AA)


def _picture(img, look):
    """A framed picture on the right wall: sky, two mountains, a sun."""
    h, w = img.shape[:2]
    _box(img, 0.82, 0.22, 0.98, 0.38, (30, 40, 60))
    _box(img, 0.832, 0.232, 0.968, 0.368, (230, 200, 150))
    for peak, colour in ((0.87, (110, 120, 90)), (0.93, (80, 100, 70))):
        _fill(img, [(peak - 0.05, 0.368), (peak, 0.27), (peak + 0.05, 0.368)], colour)
    cv2.circle(img, (int(0.945 * w), int(0.26 * h)), max(2, int(0.015 * h)), (80, 220, 250), -1, cv2.LINE_AA)


def _shelf(img, look):
    """A shelf on the right wall, with books of several colours and heights and a potted plant."""
    h, w = img.shape[:2]
    _box(img, 0.81, 0.53, 0.99, 0.545, (50, 80, 110))
    for x in (0.83, 0.96):
        _box(img, x, 0.545, x + 0.01, 0.575, (40, 60, 90))
    colours = ((40, 40, 170), (150, 90, 30), (40, 140, 60), (30, 160, 200), (120, 50, 110))
    x = 0.82
    for colour, width, top in zip(colours, (0.018, 0.014, 0.02, 0.012, 0.017), (0.45, 0.47, 0.44, 0.48, 0.46)):
        _box(img, x, top, x + width, 0.53, colour)
        _box(img, x + 0.004, top + 0.015, x + width - 0.004, top + 0.02, (220, 220, 220))   # a label on the spine
        x += width + 0.003
    _box(img, 0.93, 0.49, 0.97, 0.53, (50, 80, 170))   # the plant's pot
    for angle in (-50, -20, 10, 40):
        tip = (0.95 + 0.03 * np.sin(np.radians(angle)), 0.49 - 0.045 * np.cos(np.radians(angle)))
        cv2.line(img, (int(0.95 * w), int(0.49 * h)), (int(tip[0] * w), int(tip[1] * h)), (50, 140, 40),
                 max(2, int(0.01 * h)), cv2.LINE_AA)


def _skirting(img, look):
    """A skirting board along the bottom of the wall."""
    _box(img, 0.0, HORIZON - 0.025, 1.0, HORIZON, _shade(look["wall_bottom"], 0.85))


FURNITURE = (_floor_boards, _rug, _door, _picture, _shelf, _skirting)


SHIFT = 4                 # OpenCV draws with 1/16 pixel precision: smooth motion, no jitter
ONE = 1 << SHIFT


def _p(xy):
    return int(round(float(xy[0]) * ONE)), int(round(float(xy[1]) * ONE))


def _limb(img, a, b, width, color):
    """A limb as a shaded capsule: dark rim, base colour, lighter middle."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    for k, w, lift in ((0.6, 1.0, 0.0), (1.0, 0.8, 0.0), (1.18, 0.45, 0.12)):
        off = np.array([-lift, -lift]) * width          # the highlight leans toward the light (top left)
        cv2.line(img, _p(a + off), _p(b + off), _shade(color, k), max(1, int(round(w * width))),
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
        _poly(img, centre + (pts - centre) * shrink, _shade(color, k))


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
    _limb(img, knuckles, knuckles + 0.9 * axis, 0.07 * m, _shade(look["skin"], 0.97))
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
        _ellipse(img, ear, (0.018 * m, 0.03 * m), angle, _shade(skin, 0.9))
    # Hair cap, then the face over its lower part, so the hair frames the face.
    _ellipse(img, head + up * 0.018 * m, (0.088 * m, 0.11 * m), angle, hair)
    _ellipse(img, head - up * 0.008 * m, (0.077 * m, 0.108 * m), angle, _shade(skin, 0.85))
    _ellipse(img, head - up * 0.012 * m, (0.07 * m, 0.1 * m), angle, skin)
    _ellipse(img, head + up * 0.07 * m, (0.08 * m, 0.045 * m), angle, hair, start=180, end=360)  # fringe
    # Eyes: white, iris, brows; a nose; a mouth.
    for inner, mid, outer in ((L_EYE_INNER, L_EYE, L_EYE_OUTER), (R_EYE_INNER, R_EYE, R_EYE_OUTER)):
        w = np.linalg.norm(P[outer] - P[inner]) / 2 + 0.004 * m
        _ellipse(img, P[mid], (w, 0.011 * m), angle, (245, 245, 245))
        _ellipse(img, P[mid], (0.008 * m, 0.008 * m), 0, look["eyes"])
        brow = P[mid] + up * 0.022 * m
        cv2.line(img, _p(brow - eye_line * 0.25), _p(brow + eye_line * 0.25), _shade(look["hair"], 0.8),
                 max(1, int(0.008 * m)), cv2.LINE_AA, SHIFT)
    eyes_mid = (P[L_EYE] + P[R_EYE]) / 2
    cv2.line(img, _p(eyes_mid - up * 0.005 * m), _p(P[NOSE]), _shade(skin, 0.8), max(1, int(0.007 * m)),
             cv2.LINE_AA, SHIFT)
    _ellipse(img, P[NOSE], (0.012 * m, 0.007 * m), angle, _shade(skin, 0.8))
    cv2.line(img, _p(P[MOUTH_L]), _p(P[MOUTH_R]), (60, 60, 150), max(1, int(0.01 * m)), cv2.LINE_AA, SHIFT)


def render_dancer(landmarks, width, height, appearance):
    """Draw the dancer whose 33 landmarks (image fractions) are given.

    Returns a uint8 BGR image (height, width, 3). Parts are drawn back to
    front, so an arm in front of the chest hides it and one behind is hidden.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    P = lm[:, :2] * (width, height)                     # pixels
    chest = (P[L_SHOULDER] + P[R_SHOULDER]) / 2
    pelvis = (P[L_HIP] + P[R_HIP]) / 2
    m = np.linalg.norm(chest - pelvis) / SPINE           # pixels per metre of body
    look = appearance
    img = _background(look, width, height)

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
    _limb(img, chest, head_base + (chest - head_base) * 0.3, 0.1 * m, _shade(look["skin"], 0.9))  # neck
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


def _write_video(video_path, truth_path, look, style, frames, fps, width, height):
    """Render one dancer to an mp4 and its known landmarks to an npz, each atomically."""
    landmarks = np.stack([dance_pose(i / fps, style, aspect=width / height) for i in range(frames)])
    with atomic_path(video_path) as tmp:     # the temp name ends in .mp4: OpenCV picks the container from it
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        if not writer.isOpened():
            raise DanceError(f"{video_path}: OpenCV cannot write mp4 videos here")
        try:
            for lm in landmarks:
                writer.write(render_dancer(lm, width, height, look))
        finally:
            writer.release()
    with atomic_path(truth_path) as tmp:
        np.savez(tmp, landmarks=landmarks.astype(np.float32), frame=np.arange(frames),
                 fps=np.float32(fps))


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
    if not math.isfinite(seconds * fps):
        raise DanceError(f"--seconds {seconds:g}: must be a finite number")
    frames = int(round(seconds * fps))
    if frames < 1:
        raise DanceError(f"--seconds {seconds}: too short for even one frame at {fps} fps")
    os.makedirs(out_dir, exist_ok=True)
    _write_video(paths["target_video"], paths["target_truth"], TARGET_LOOK, 0, frames, fps, width, height)
    _write_video(paths["source_video"], paths["source_truth"], SOURCE_LOOK, 1, frames, fps, width, height)
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

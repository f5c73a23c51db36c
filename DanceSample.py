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
WORLD_MARGIN = 0.5             # a moving camera films a room this much wider than the frame on each side
CUT_SCALE = 0.85               # after the cut: the second camera stands further away ...
CUT_FEET = (0.42, 0.87)        # ... and sees the dancer's feet here (frame fractions), left of the middle

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


def dance_pose(t, style=0, aspect=1.0, planted=False):
    """The 33 MediaPipe landmarks of the dancer at time `t` (seconds).

    Returns float32 (33, 3): x, y in fractions of a frame `aspect` = width/height
    (origin top left, y down), z MediaPipe's relative depth (hips at 0, same
    scale as x, negative toward the camera). The dancer faces the camera, so
    their left side is on the image right. `planted`: the feet never leave
    their spot (no side steps, no travel); the hips still sway and the arms
    and knees still move.
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
    travel = _travel(t, st)
    if planted:
        lx = rx = l_lift = r_lift = travel = 0.0
    l_ankle = np.array([lx + 0.14, ANKLE_HEIGHT + l_lift, 0.0])
    r_ankle = np.array([rx - 0.14, ANKLE_HEIGHT + r_lift, 0.0])

    bounce = 0.025 * (0.5 - 0.5 * np.cos(2 * np.pi * t / beat))    # knees give on every beat
    sway = 0.035 * np.sin(sway_phase)
    pelvis = np.array([travel + sway, HIP_HEIGHT - key["squat"] - bounce, 0.0])
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
CUT_LOOK = dict(TARGET_LOOK,                                    # the same dancer, in another room
                wall_top=(120, 160, 130), wall_bottom=(160, 200, 175),   # sage green wall
                floor_far=(90, 90, 110), floor_near=(55, 55, 75))        # dark floor

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
    img = _background(look, width, height) if background is None else background.copy()

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


def _world_background(look, width, height):
    """The still room of a width x height frame, continued beyond the frame on every side.

    A moving camera sees more than one frame of the room, so it films this larger "world"
    (WORLD_MARGIN more on each side); its middle is exactly `render_background`. The wall, the
    skirting and the floor boards carry on, and a window and a lamp give the sides something a
    camera tracker can hold on to (a bare wall moves without showing it).
    Returns (world image, (mx, my)): the frame's top-left corner in the world.
    """
    mx, my = round(WORLD_MARGIN * width), round(WORLD_MARGIN * height)
    room = _background(look, width, height)
    world = cv2.copyMakeBorder(room, my, my, mx, mx, cv2.BORDER_REPLICATE)
    # The room's left column is the wall, skirting and floor with nothing in front: the right side
    # continues it too (replicating the right column would smear the shelf that nearly touches it).
    world[:, mx + width:] = world[:, mx:mx + 1]

    def at(x, y):   # a point in fractions of the still frame -> world pixels
        return int(round(mx + x * width)), int(round(my + y * height))

    thin = max(1, round(height / 240))
    seam = _shade(look["floor_near"], 0.8)
    step = (1.0 - HORIZON) / 8                     # the spacing of the room's own rows of boards
    left, right = -mx / width, 1 + mx / width     # the world's edges, in frame fractions
    for row in range(int((1 + my / height - HORIZON) / step)):
        y = HORIZON + (row + 1) * step
        in_frame = row < 7                         # the room drew these 7 rows of boards itself
        if not in_frame:                           # rows nearer than the frame's bottom edge
            cv2.line(world, at(left, y), at(right, y), seam, thin, cv2.LINE_AA)
        for x in np.arange(0.07 + 0.11 * (row % 3) - 0.33 * 3, right, 0.33):
            if x < left or (in_frame and 0 <= x < 1):   # ... with their joints
                continue
            cv2.line(world, at(x, y), at(x, y + step), seam, thin, cv2.LINE_AA)
    # A window on the left wall: white frame, sky, glazing bars, a sill.
    cv2.rectangle(world, at(-0.27, 0.12), at(-0.06, 0.50), (240, 240, 240), -1, cv2.LINE_AA)
    cv2.rectangle(world, at(-0.255, 0.14), at(-0.075, 0.48), (235, 205, 160), -1, cv2.LINE_AA)
    cv2.line(world, at(-0.165, 0.14), at(-0.165, 0.48), (240, 240, 240), 2 * thin, cv2.LINE_AA)
    cv2.line(world, at(-0.255, 0.31), at(-0.075, 0.31), (240, 240, 240), 2 * thin, cv2.LINE_AA)
    cv2.rectangle(world, at(-0.285, 0.50), at(-0.045, 0.52), (200, 200, 205), -1, cv2.LINE_AA)
    # A standing lamp on the right: base on the floor, pole, shade.
    cv2.ellipse(world, at(1.09, 0.80), (round(0.035 * width), round(0.012 * height)), 0, 0, 360,
                (40, 40, 45), -1, cv2.LINE_AA)
    cv2.line(world, at(1.09, 0.36), at(1.09, 0.80), (60, 60, 65), 2 * thin, cv2.LINE_AA)
    cv2.fillPoly(world, [np.array([at(1.06, 0.26), at(1.12, 0.26), at(1.14, 0.37), at(1.04, 0.37)], np.int32)],
                 (150, 215, 240), cv2.LINE_AA)
    return world, (mx, my)


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
    drift = DRIFT_PX * _ease(u)[:, None] * (np.cos(heading), np.sin(heading))
    # White noise is too jumpy for a hand: average each frame's shake with its neighbours'.
    noise = rng.normal(0.0, SHAKE_PX, (frames + 2, 2))
    shake = (noise[:-2] + 2 * noise[1:-1] + noise[2:]) / 4
    scale = 1 + DRIFT_SCALE * np.sin(2 * np.pi * u)     # starts at 1, so frame 0 is at the still scale
    angle = np.radians(DRIFT_DEGREES) * _ease(u) * rng.choice((-1, 1))
    centre = np.array([width / 2, height / 2])
    return np.stack([_similarity(scale[i], angle[i], centre + origin, centre + drift[i] + shake[i])
                     for i in range(frames)])


def _pan_path(frames, width, height, origin):
    """World -> frame (N, 3, 3) of a camera operator who reframes: a smooth pan across the room
    of PAN_WIDTHS frame widths, zooming in by PAN_ZOOM, starting and stopping gently."""
    e = _ease(np.linspace(0.0, 1.0, frames))
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
    The moving cameras film a "world" image twice the frame's size (`_world_background`: the still
    room continued on every side, the dancer at its middle at the still sample's size) through a
    per-frame similarity (cv2.warpAffine, bilinear).

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
        world, origin = _world_background(look, width, height)
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

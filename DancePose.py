"""The synthetic dancer's moves: where each of the 33 MediaPipe landmarks is at any time.

    from DancePose import dance_pose
    landmarks = dance_pose(t=1.5, style=0, aspect=320 / 240)   # float32 (33, 3), x, y in frame fractions

A small kinematic body (bone lengths in metres, joint angles that change with the time t) dances
one of two related choreographies (`style` 0, the target's, and 1, the source's), so the source and
target do not move the same way (the point of motion transfer). DanceSample.py draws a dancer over
these landmarks and films them; its truth files hold them.
"""
import numpy as np

# MediaPipe PoseLandmark indices (the full list is in its enum order).
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


def ease(x):
    """Smooth 0 -> 1 (zero speed at both ends), so moves start and stop softly."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _key_pose(t, style):
    """The key-pose row at time t: eased from one key to the next on each beat."""
    keys, beat = style["keys"], style["beat"]
    u = t / beat
    i = int(np.floor(u))
    frac = ease((u - i - 0.25) / 0.75)   # hold the pose a quarter beat, then move
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
    landed = (k + ease(moving) + phase) * beat
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

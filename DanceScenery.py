"""The room the synthetic dancers stand in: a wall, a wooden floor, a door, a picture, a shelf, a rug.

    from DanceScenery import BLUE_ROOM, render_background, world_background
    room = render_background(320, 240, BLUE_ROOM)             # what a still camera films
    world, (mx, my) = world_background(320, 240, BLUE_ROOM)   # the same room, wider, for a moving camera

DanceSample.py draws its dancers over these: a still camera's frame is `render_background` with the
dancer drawn on it; a moving camera films the dancer drawn on `world_background`, whose middle (the
frame's top-left corner at (mx, my)) is exactly `render_background`.

A room's colours are a dict of BGR colours (BLUE_ROOM, BEIGE_ROOM, GREEN_ROOM); only its wall and
floor keys are read, so a dancer's look (a room plus the dancer's own colours) works as well.
Everything is drawn in fractions of the frame, so any frame size works.

Why furniture: a real room has texture and edges that no pose predicts, so a generator must learn
the room as it is, and a background plate (VideoSkeleton.py) has something real to recover.
"""
import cv2
import numpy as np

BLUE_ROOM = dict(wall_top=(205, 190, 170), wall_bottom=(235, 225, 210),    # soft blue-grey wall
                 floor_far=(120, 150, 180), floor_near=(80, 110, 145))     # wooden floor
BEIGE_ROOM = dict(wall_top=(150, 200, 220), wall_bottom=(190, 225, 240),   # warm beige wall
                  floor_far=(175, 175, 170), floor_near=(135, 135, 130))   # grey floor
GREEN_ROOM = dict(wall_top=(120, 160, 130), wall_bottom=(160, 200, 175),   # sage green wall
                  floor_far=(90, 90, 110), floor_near=(55, 55, 75))        # dark floor

HORIZON = 0.68            # image y where the wall meets the floor
WORLD_MARGIN = 0.5        # a moving camera films a room this much wider than the frame on each side

_BACKGROUNDS = {}         # the rooms already drawn: the camera is still, so each is drawn once


def shade(color, k):
    """`color` made darker (k < 1) or lighter (k > 1)."""
    return tuple(min(255, max(0, int(c * k))) for c in color)


def render_background(width, height, look=BLUE_ROOM):
    """The empty room: wall and floor in the look's colours, and still furniture; a fresh copy, to
    draw on. Without the dancer (nor their shadow): what a background plate should recover."""
    key = tuple(tuple(look[k]) for k in ("wall_top", "wall_bottom", "floor_far", "floor_near")) + (width, height)
    if key not in _BACKGROUNDS:
        img = np.empty((height, width, 3), np.uint8)
        horizon = int(height * HORIZON)
        u = np.linspace(0.0, 1.0, horizon)[:, None]
        img[:horizon] = (np.array(look["wall_top"]) * (1 - u) + np.array(look["wall_bottom"]) * u)[:, None, :]
        v = np.linspace(0.0, 1.0, height - horizon)[:, None]
        img[horizon:] = (np.array(look["floor_far"]) * (1 - v) + np.array(look["floor_near"]) * v)[:, None, :]
        _furnish(img, look)
        cv2.line(img, (0, horizon), (width, horizon), shade(look["wall_bottom"], 0.7), max(2, height // 120))
        _BACKGROUNDS[key] = img
    return _BACKGROUNDS[key].copy()


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
    seam, thin = shade(look["floor_near"], 0.8), _thin(img)
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
    _box(img, 0.0, HORIZON - 0.025, 1.0, HORIZON, shade(look["wall_bottom"], 0.85))


FURNITURE = (_floor_boards, _rug, _door, _picture, _shelf, _skirting)


def world_background(width, height, look=BLUE_ROOM):
    """The still room of a width x height frame, continued beyond the frame on every side.

    A moving camera sees more than one frame of the room, so it films this larger "world"
    (WORLD_MARGIN more on each side); its middle is exactly `render_background`. The wall, the
    skirting and the floor boards carry on, and a window and a lamp give the sides something a
    camera tracker can hold on to (a bare wall moves without showing it).
    Returns (world image, (mx, my)): the frame's top-left corner in the world.
    """
    mx, my = round(WORLD_MARGIN * width), round(WORLD_MARGIN * height)
    room = render_background(width, height, look)
    world = cv2.copyMakeBorder(room, my, my, mx, mx, cv2.BORDER_REPLICATE)
    # The room's left column is the wall, skirting and floor with nothing in front: the right side
    # continues it too (replicating the right column would smear the shelf that nearly touches it).
    world[:, mx + width:] = world[:, mx:mx + 1]

    def at(x, y):   # a point in fractions of the still frame -> world pixels
        return int(round(mx + x * width)), int(round(my + y * height))

    thin = _thin(room)
    seam = shade(look["floor_near"], 0.8)
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

"""Skeleton and Vec3: the maths on generated poses, drawing, and pose detection."""
import numpy as np
import pytest

import Skeleton as skeleton_module
from Skeleton import STICK_LIMBS, Skeleton
from Vec3 import Vec3
from VideoReader import VideoReader

# The contract (docs/DESIGN.md): the 13 reduced joints as MediaPipe indices, in this order.
CONTRACT_INDICES = [0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


def random_skeleton(seed):
    rng = np.random.default_rng(seed)
    return Skeleton(rng.uniform(0.05, 0.95, (33, 3)).astype(np.float32), rng.uniform(0, 1, 33))


# ---------------------------------------------------------------------- forms
def test_reduce_gives_the_13_joints_in_the_contract_order():
    landmarks = np.zeros((33, 3), np.float32)
    # Each landmark carries its own index, so the order of the output tells which joint it is.
    landmarks[:, 0] = np.arange(33) / 100
    landmarks[:, 1] = 0.5 + np.arange(33) / 100
    landmarks[:, 2] = -np.arange(33) / 100
    ske = Skeleton(landmarks)
    reduced = ske.reduce()
    assert reduced.shape == (26,)
    assert reduced.dtype == np.float32
    expected = np.array([(i / 100, 0.5 + i / 100) for i in CONTRACT_INDICES], np.float32).reshape(-1)
    np.testing.assert_allclose(reduced, expected, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(np.asarray(ske.__array__(reduced=True)), reduced)
    full = np.asarray(ske)
    assert full.shape == (99,)
    np.testing.assert_array_equal(full.reshape(33, 3), landmarks)


def test_skeleton_rejects_a_wrong_shape():
    with pytest.raises(ValueError):
        Skeleton(np.zeros((13, 2)))


def test_from_reduced_round_trip():
    reduced = np.random.default_rng(1).uniform(0, 1, 26).astype(np.float32)
    ske = Skeleton.from_reduced(reduced)
    np.testing.assert_array_equal(ske.reduce(), reduced)
    others = np.setdiff1d(np.arange(33), CONTRACT_INDICES)
    assert not ske.landmarks[others].any(), "landmarks outside the reduced 13 must stay 0"
    assert not ske.landmarks[:, 2].any()


def test_joint_is_a_vec3_of_the_landmark():
    ske = random_skeleton(2)
    joint = ske.joint(25)
    assert isinstance(joint, Vec3)
    np.testing.assert_array_equal(np.asarray(joint), ske.landmarks[25])


def test_copy_is_independent():
    ske = random_skeleton(3)
    twin = ske.copy()
    twin.landmarks[0, 0] += 1
    assert ske.landmarks[0, 0] != twin.landmarks[0, 0]
    np.testing.assert_array_equal(twin.visibility, ske.visibility)


# ---------------------------------------------------------------------- geometry
def test_distance_symmetric_zero_to_itself_and_matches_numpy():
    a, b = random_skeleton(4), random_skeleton(5)
    assert a.distance(a) == 0.0
    assert a.distance(b) == pytest.approx(b.distance(a), abs=1e-6)
    assert a.distance(b) > 0
    ref_2d = np.sqrt(((a.landmarks[CONTRACT_INDICES, :2] - b.landmarks[CONTRACT_INDICES, :2]) ** 2).sum())
    assert a.distance(b) == pytest.approx(float(ref_2d), rel=1e-5)
    ref_3d = np.sqrt(((a.landmarks - b.landmarks) ** 2).sum(axis=1)).sum()
    assert a.distance(b, reduced=False) == pytest.approx(float(ref_3d), rel=1e-5)
    assert a.distance(a, reduced=False) == 0.0


def test_crop_maps_the_window_to_0_1():
    rng = np.random.default_rng(6)
    landmarks = np.column_stack([rng.uniform(0.2, 0.6, 33), rng.uniform(0.1, 0.9, 33),
                                 rng.uniform(-0.2, 0.2, 33)]).astype(np.float32)
    landmarks[0, :2] = (0.2, 0.1)     # the window's corners
    landmarks[1, :2] = (0.6, 0.9)
    landmarks[2, :2] = (0.4, 0.5)     # its centre
    ske = Skeleton(landmarks)
    assert ske.crop(0.2, 0.1, 0.4, 0.8) is ske
    np.testing.assert_allclose(ske.landmarks[0, :2], (0, 0), atol=1e-6)
    np.testing.assert_allclose(ske.landmarks[1, :2], (1, 1), atol=1e-6)
    np.testing.assert_allclose(ske.landmarks[2, :2], (0.5, 0.5), atol=1e-6)
    assert ske.landmarks[:, :2].min() >= -1e-6 and ske.landmarks[:, :2].max() <= 1 + 1e-6
    np.testing.assert_allclose(ske.landmarks[:, 2], landmarks[:, 2] / 0.4, rtol=1e-5)


def test_bounding_box():
    ske = random_skeleton(7)
    xmin, ymin, xmax, ymax = ske.boundingBox()
    xy = ske.landmarks[:, :2]
    assert (xmin, ymin) == pytest.approx(tuple(xy.min(axis=0)))
    assert (xmax, ymax) == pytest.approx(tuple(xy.max(axis=0)))
    assert ske.bounding_box() == ske.boundingBox()
    # A crop to the box puts the pose exactly in 0..1.
    ske.crop(xmin, ymin, xmax - xmin, ymax - ymin)
    assert ske.boundingBox() == pytest.approx((0, 0, 1, 1), abs=1e-5)


# ---------------------------------------------------------------------- drawing
# A standing pose whose limbs do not cross, so each limb's midpoint shows its own colour.
POSE = np.array([
    (0.50, 0.10),                   # nose
    (0.65, 0.25), (0.35, 0.25),     # shoulders L, R
    (0.80, 0.40), (0.20, 0.40),     # elbows
    (0.90, 0.55), (0.10, 0.55),     # wrists
    (0.60, 0.55), (0.40, 0.55),     # hips
    (0.62, 0.75), (0.38, 0.75),     # knees
    (0.64, 0.95), (0.36, 0.95),     # ankles
], np.float32)


def stick_point(index):
    """A point of the stick figure: a reduced joint, or 13 = mid shoulders, 14 = mid hips."""
    if index == 13:
        return (POSE[1] + POSE[2]) / 2
    if index == 14:
        return (POSE[7] + POSE[8]) / 2
    return POSE[index]


@pytest.mark.parametrize("size", [128, 256])
def test_draw_reduced_puts_each_limb_colour_at_its_midpoint(size):
    image = np.zeros((size, size, 3), np.uint8)
    out = Skeleton.from_reduced(POSE).draw_reduced(image)
    assert out is image
    assert len(STICK_LIMBS) == 14
    colours = {tuple(c) for _, _, c in STICK_LIMBS}
    assert len(colours) == len(STICK_LIMBS), "every limb has its own colour"
    for a, b, colour in STICK_LIMBS:
        mid = (stick_point(a) + stick_point(b)) / 2 * size
        x, y = int(round(mid[0])), int(round(mid[1]))
        pixel = image[y, x].astype(int)
        assert np.abs(pixel - colour).max() <= 2, f"limb {a}-{b}: {pixel} at ({x}, {y}), expected {colour}"


def spine_thickness(size):
    """Width in pixels of the (vertical, grey) spine across its midpoint, anti-aliased edges counted pro rata."""
    image = np.zeros((size, size, 3), np.uint8)
    Skeleton.from_reduced(POSE).draw_reduced(image)
    y = int(round(0.40 * size))
    row = image[y, int(0.45 * size):int(0.55 * size)].astype(float)
    spine_grey = 128
    return row.max(axis=1).sum() / spine_grey


def test_stick_figure_line_width_scales_with_the_image():
    widths = [spine_thickness(size) for size in (64, 128, 256, 512)]
    assert widths == sorted(widths) and len(set(widths)) == 4, widths
    assert widths[1] >= 2, widths
    # Anti-aliasing adds about a pixel at each edge whatever the size, so not exactly x4.
    assert widths[3] >= 2 * widths[1], widths


def test_draw_full_skeleton_draws_something():
    ske = Skeleton.from_reduced(POSE)
    image = np.zeros((200, 200, 3), np.uint8)
    assert ske.draw(image) is image
    assert (image.max(axis=2) > 0).sum() > 200
    # Something is drawn where the left knee is.
    x, y = (POSE[9] * 200).round().astype(int)
    assert image[y - 2:y + 3, x - 2:x + 3].any()


# ---------------------------------------------------------------------- Vec3
def test_vec3_arithmetic():
    a, b = Vec3(1, 2, 3), Vec3(4, -5, 6)
    assert a + b == Vec3(5, -3, 9)
    assert b - a == Vec3(3, -7, 3)
    assert a * 2 == Vec3(2, 4, 6)
    assert 2 * a == Vec3(2, 4, 6)
    assert b / 2 == Vec3(2, -2.5, 3)
    assert a.dot(b) == pytest.approx(4 - 10 + 18)
    assert a.cross(b) == Vec3(2 * 6 - 3 * -5, 3 * 4 - 1 * 6, 1 * -5 - 2 * 4)
    assert Vec3(3, 4, 0).norm() == pytest.approx(5)
    assert a.distance(b) == pytest.approx(np.linalg.norm([3, -7, 3]))
    assert (a.x, a.y, a.z) == (1.0, 2.0, 3.0)
    assert Vec3.from_array([0.5, 0.25]) == Vec3(0.5, 0.25, 0)
    assert a + np.array([1, 1, 1]) == Vec3(2, 3, 4)
    assert a != Vec3(1, 2, 3.5)
    assert a != (1, 2, 3)
    np.testing.assert_array_equal(np.asarray(a), [1, 2, 3])
    # The operators return new points and leave their operands alone.
    assert a == Vec3(1, 2, 3) and b == Vec3(4, -5, 6)


# ---------------------------------------------------------------------- detection
def test_no_person_in_noise():
    noise = np.random.default_rng(8).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    ske = Skeleton()
    assert ske.fromImage(noise) is False
    assert not ske.landmarks.any(), "a failed detection leaves the skeleton as it was"


def test_detects_the_person_in_a_frame(clip):
    """The synthetic dancer, whose true landmarks are known (tests/test_real_footage.py: a real squat)."""
    index = clip.frames // 2
    reader = VideoReader(str(clip.path))
    frame = reader.readFrameAt(index)
    reader.release()
    assert frame is not None
    ske = Skeleton()
    assert ske.fromImage(frame) is True
    xy = ske.landmarks[:, :2]
    assert xy.min() >= 0 and xy.max() <= 1, xy
    assert 0 <= ske.visibility.min() and ske.visibility.max() <= 1
    # A standing person: the nose above the hips, the hips above the ankles, and a body of some size.
    nose_y, hips_y, ankles_y = xy[0, 1], xy[[23, 24], 1].mean(), xy[[27, 28], 1].mean()
    assert nose_y < hips_y < ankles_y
    x0, y0, x1, y1 = ske.boundingBox()
    assert y1 - y0 > 0.1
    # Where the dancer was drawn: the 13 main joints within 5 % of the frame of the truth, on average.
    with np.load(clip.truth, allow_pickle=False) as truth:
        known = truth["landmarks"][index]
    error = np.linalg.norm(xy[CONTRACT_INDICES] - known[CONTRACT_INDICES, :2], axis=1).mean()
    assert error < 0.05, error
    # The module keeps one static detector for every call (creating one is slow).
    assert skeleton_module.static_detector() is skeleton_module.static_detector()

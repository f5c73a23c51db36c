"""The target filmed as people really film (DanceSample.make_target_variant), and its truth.

Each kind of camera is rendered once for the module (2 s at 25 fps, 320 x 240). The tests check
the truth against the pixels: the camera truth must bring every frame onto its shot's first frame,
the gain truth must explain the brightness, and MediaPipe must find the dancer where the truth says.
"""
import os

import cv2
import numpy as np
import pytest

from DanceSample import CAMERA_KINDS, make_target_variant

SECONDS, FPS, WIDTH, HEIGHT = 2.0, 25, 320, 240
FRAMES = int(SECONDS * FPS)
MARGIN = (0.15 * WIDTH, 0.12 * HEIGHT)   # around the dancer's landmarks: hair, hands and their shadow
MAIN_JOINTS = [0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
FEET = [27, 28, 29, 30, 31, 32]          # ankles, heels, toes
KEYS = {"landmarks", "frame", "fps", "camera", "gain", "offset", "cut", "kind", "plate"}


@pytest.fixture(scope="module")
def videos(tmp_path_factory, read_frames):
    """{kind: (paths, frames, truth)} for every kind, rendered once."""
    folder = str(tmp_path_factory.mktemp("cameras"))
    out = {}
    for kind in CAMERA_KINDS:
        paths = make_target_variant(folder, kind, seconds=SECONDS, fps=FPS, width=WIDTH, height=HEIGHT)
        with np.load(paths["truth"], allow_pickle=False) as npz:
            truth = {key: npz[key] for key in npz.files}
        out[kind] = paths, read_frames(paths["video"]), truth
    return out


def pixels(landmarks):
    return landmarks[:, :2] * (WIDTH, HEIGHT)


def away_from(*points):
    """True away from the boxes (with MARGIN) around each set of dancer points (pixels)."""
    mask = np.ones((HEIGHT, WIDTH), bool)
    for p in points:
        (x0, y0), (x1, y1) = p.min(axis=0) - MARGIN, p.max(axis=0) + MARGIN
        mask[max(int(y0), 0):max(int(y1) + 1, 0), max(int(x0), 0):max(int(x1) + 1, 0)] = False
    return mask


def scene(frames, truth, t):
    """Frame t at the scene's brightness: the gain and offset undone."""
    return (frames[t].astype(np.float32) - truth["offset"][t]) / truth["gain"][t]


def mismatch(frames, truth, t, ref, camera):
    """Mean absolute difference (grey levels) between frame t warped by `camera` and frame `ref`,
    away from the dancer in both and only where the warped frame covers the reference."""
    warped = cv2.warpPerspective(scene(frames, truth, t), camera, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
    inside = cv2.warpPerspective(np.ones((HEIGHT, WIDTH), np.float32), camera, (WIDTH, HEIGHT)) > 0.999
    moved = cv2.perspectiveTransform(pixels(truth["landmarks"][t])[None].astype(np.float64), camera)[0]
    mask = inside & away_from(moved, pixels(truth["landmarks"][ref]))
    assert mask.mean() > 0.05, f"frame {t}: too little background left to compare"
    return float(np.abs(warped - scene(frames, truth, ref))[mask].mean())


def test_every_kind_renders_with_its_truth(videos):
    folder = os.path.dirname(videos["still"][0]["video"])
    # Atomic writes leave no temporary file behind.
    assert sorted(os.listdir(folder)) == sorted(f"target_{k}{end}" for k in CAMERA_KINDS
                                                for end in (".mp4", "_truth.npz"))
    for kind, (paths, frames, truth) in videos.items():
        assert len(frames) == FRAMES and frames[0].shape == (HEIGHT, WIDTH, 3), kind
        assert set(truth) == KEYS | ({"plate_cut"} if kind == "cut" else set()), kind
        assert truth["landmarks"].shape == (FRAMES, 33, 3) and truth["landmarks"].dtype == np.float32
        assert np.array_equal(truth["frame"], np.arange(FRAMES)) and truth["fps"] == FPS
        assert truth["camera"].shape == (FRAMES, 3, 3) and truth["camera"].dtype == np.float64
        assert truth["gain"].shape == truth["offset"].shape == (FRAMES, 3)
        assert truth["gain"].dtype == truth["offset"].dtype == np.float32
        assert truth["plate"].shape == (HEIGHT, WIDTH, 3) and truth["plate"].dtype == np.uint8
        assert str(truth["kind"]) == kind
        assert int(truth["cut"]) == (FRAMES // 2 if kind == "cut" else -1)
        assert np.allclose(truth["camera"][0], np.eye(3))
        xy = truth["landmarks"][..., :2]
        assert (xy > 0.02).all() and (xy < 0.98).all(), f"{kind}: the dancer leaves the frame"
        moving = kind in ("drift", "pan")
        assert np.allclose(truth["camera"], np.eye(3)) != moving, kind


def test_kept_unless_forced_and_deterministic(tmp_path):
    paths = make_target_variant(str(tmp_path), "drift", seconds=0.2)
    stamp = os.path.getmtime(paths["video"]) - 100
    os.utime(paths["video"], (stamp, stamp))
    with np.load(paths["truth"], allow_pickle=False) as npz:
        first = npz["camera"]
    make_target_variant(str(tmp_path), "drift", seconds=0.2)
    assert os.path.getmtime(paths["video"]) == stamp
    make_target_variant(str(tmp_path), "drift", seconds=0.2, force=True)
    assert os.path.getmtime(paths["video"]) > stamp
    with np.load(paths["truth"], allow_pickle=False) as npz:
        assert np.array_equal(npz["camera"], first)
    with pytest.raises(ValueError):
        make_target_variant(str(tmp_path), "shaky")


@pytest.mark.parametrize("kind", CAMERA_KINDS)
def test_truth_camera_brings_each_frame_onto_its_shot(videos, kind):
    _, frames, truth = videos[kind]
    cut = int(truth["cut"])
    # Frame 0 is the plate where the dancer is not (but for the mp4's noise and colour rounding).
    plate = truth["plate"].astype(np.float32)
    mask = away_from(pixels(truth["landmarks"][0]))
    assert np.abs(scene(frames, truth, 0) - plate)[mask].mean() < 5
    for t in (FRAMES // 4, FRAMES // 2 - 1, FRAMES // 2 + 3, 3 * FRAMES // 4, FRAMES - 1):
        ref = cut if 0 <= cut <= t else 0
        right = mismatch(frames, truth, t, ref, truth["camera"][t])
        assert right < 4.5, f"{kind}, frame {t}: {right:.2f} grey levels off with the truth camera"
        if kind in ("drift", "pan"):
            still = mismatch(frames, truth, t, ref, np.eye(3))
            assert still > 2 * right, f"{kind}, frame {t}: identity {still:.2f} vs truth {right:.2f}"


def test_exposure_brightens_by_a_fifth(videos):
    _, frames, truth = videos["exposure"]
    gain = truth["gain"]
    assert np.allclose(gain[:, 0:1], gain) and np.all(np.diff(gain[:, 0]) > 0)   # grey, and ramping up
    assert gain[-1, 0] / gain[0, 0] == pytest.approx(1.2, abs=0.01)
    assert np.allclose(truth["offset"], 0)
    plate = truth["plate"].astype(np.float32)
    mask = away_from(pixels(truth["landmarks"][0]), pixels(truth["landmarks"][-1]))
    means = [frames[t].astype(np.float32)[mask].mean() for t in (0, FRAMES - 1)]
    assert means[1] / means[0] == pytest.approx(1.2, abs=0.03)
    for t in (0, FRAMES // 2, FRAMES - 1):
        assert frames[t].astype(np.float32)[mask].mean() / plate[mask].mean() == pytest.approx(gain[t, 0], rel=0.02)


def test_spot_dancer_never_leaves_their_spot(videos):
    _, frames, truth = videos["spot"]
    lm = truth["landmarks"]
    assert np.ptp(lm[:, FEET, 0], axis=0).max() < 0.005           # each foot stays planted
    hips = lm[:, [23, 24], 0].mean(axis=1)
    assert np.ptp(hips) < 0.03                                    # only the sway moves them
    travelled = np.ptp(videos["still"][2]["landmarks"][:, FEET, 0], axis=0).max()
    assert travelled > 4 * np.ptp(lm[:, FEET, 0], axis=0).max() + 0.01   # unlike the still target
    # The middle of the body, on average, is covered in every single frame.
    belly = lm[:, [11, 12, 23, 24], :2].mean(axis=(0, 1)) * (WIDTH, HEIGHT)
    x, y = int(round(belly[0])), int(round(belly[1]))
    plate = truth["plate"].astype(np.int32)
    covered = [np.abs(f[y, x].astype(np.int32) - plate[y, x]).sum() for f in frames]
    assert min(covered) > 60, f"the pixel ({x}, {y}) shows the room in some frame"


def test_cut_changes_the_room_halfway(videos):
    _, frames, truth = videos["cut"]
    cut = int(truth["cut"])

    def differ(a, b):
        mask = away_from(pixels(truth["landmarks"][a]), pixels(truth["landmarks"][b]))
        return np.abs(frames[a].astype(np.float32) - frames[b].astype(np.float32))[mask].mean()

    assert differ(cut - 1, cut) > 30
    assert differ(0, cut - 1) < 3 and differ(cut, FRAMES - 1) < 3
    mask = away_from(pixels(truth["landmarks"][cut]))
    assert np.abs(frames[cut].astype(np.float32) - truth["plate_cut"])[mask].mean() < 5
    # The second camera frames the dancer differently: smaller (a shorter torso), and more to the left.
    px = truth["landmarks"][..., :2] * (WIDTH, HEIGHT)
    torso = np.linalg.norm(px[:, [11, 12]].mean(axis=1) - px[:, [23, 24]].mean(axis=1), axis=1)
    assert torso[cut] / torso[cut - 1] < 0.9
    assert px[cut, FEET, 0].mean() < px[cut - 1, FEET, 0].mean() - 0.05 * WIDTH


@pytest.fixture(scope="module")
def detector():
    from Skeleton import PoseDetector
    with PoseDetector(static_image_mode=True) as det:
        yield det


@pytest.mark.parametrize("kind", CAMERA_KINDS)
def test_mediapipe_finds_the_dancer_where_the_truth_says(videos, detector, kind):
    _, frames, truth = videos[kind]
    picked = np.linspace(0, FRAMES - 1, 10).astype(int)
    errors = []
    for i in picked:
        ske = detector.detect(frames[i])
        if ske is not None:
            errors.append(np.linalg.norm(ske.landmarks[MAIN_JOINTS, :2] - truth["landmarks"][i, MAIN_JOINTS, :2],
                                         axis=1).mean())
    assert len(errors) >= 9, f"MediaPipe found the dancer of {kind} in only {len(errors)} of 10 frames"
    assert np.mean(errors) < 0.05, f"{kind}: mean joint error {np.mean(errors):.3f}"

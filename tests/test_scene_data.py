"""The scene's data: the person's masks and the background plate that a preparation records.

On the project's synthetic sample (DanceSample.py: a dancer in a furnished room filmed with a
still camera), whose empty room and true skeletons are known; on the same video shaken by a
few pixels a frame (a moving camera: no plate); on the course's taichi1 (no scene at all).
"""
import contextlib
import io
import json
import os
import shutil

import cv2
import numpy as np
import pytest

import DanceSample
import BackgroundPlate
from Skeleton import REDUCED_INDICES, PoseDetector
from VideoReader import VideoReader
from BackgroundPlate import PLATE_MAX_ERROR
from VideoSkeleton import VideoSkeleton, crop_square

SIDE, SECONDS, SIZE, MOD_FRAME = 240, 3.0, 64, 2


def prepare(video, out_dir):
    """VideoSkeleton(video) into out_dir, and what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        vs = VideoSkeleton(str(video), modFrame=MOD_FRAME, size=SIZE, out_dir=str(out_dir), progress=False)
    return vs, printed.getvalue()


def shaken_shift(i, step=2, reach=12):
    """How far (pixels, to the right) shaken_copy moves frame i: back and forth, `step` a frame up to `reach`."""
    phase = i * step % (4 * reach)
    return (phase if phase < 2 * reach else 4 * reach - phase) - reach


def shaken_copy(video, path):
    """`video` filmed by a camera that pans back and forth (shaken_shift) and half as much down."""
    reader = VideoReader(str(video))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), reader.fps, (reader.width, reader.height))
    for i, frame in enumerate(reader):
        dx = shaken_shift(i)
        shift = np.float32([[1, 0, dx], [0, 1, dx / 2]])
        writer.write(cv2.warpAffine(frame, shift, (reader.width, reader.height), borderMode=cv2.BORDER_REPLICATE))
    writer.release()
    reader.release()
    return path


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The synthetic sample (target and source, 240 x 240, 3 s) and its target prepared at 64 px, one frame in 2."""
    folder = tmp_path_factory.mktemp("scene_sample")
    paths = DanceSample.make_sample(str(folder), seconds=SECONDS, width=SIDE, height=SIDE)
    vs, printed = prepare(paths["target_video"], folder / "target")
    with np.load(paths["target_truth"], allow_pickle=False) as truth:
        landmarks = truth["landmarks"]
    return {"paths": paths, "vs": vs, "printed": printed, "truth": landmarks}


@pytest.fixture(scope="module")
def shaken(sample, tmp_path_factory):
    """The sample's target video as a moving camera films it, prepared likewise."""
    folder = tmp_path_factory.mktemp("scene_shaken")
    video = shaken_copy(sample["paths"]["target_video"], folder / "shaken.mp4")
    vs, printed = prepare(video, folder / "shaken")
    return {"video": video, "vs": vs, "printed": printed}


def true_person(landmarks):
    """Where the sample's dancer (and their shadow) is in a frame: bool (SIDE, SIDE), from rendering it
    over the empty room."""
    room = DanceSample.render_background(SIDE, SIDE, DanceSample.TARGET_LOOK)
    frame = DanceSample.render_dancer(landmarks, SIDE, SIDE, DanceSample.TARGET_LOOK)
    return np.abs(frame.astype(int) - room).max(axis=2) > 12


# ---------------------------------------------------------------------- the files
def test_landmarks_file_records_the_frame_size_the_boxes_and_the_plate(sample):
    vs = sample["vs"]
    with np.load(os.path.join(vs.directory, "landmarks.npz"), allow_pickle=False) as data:
        assert data["frame_size"].dtype == np.int32 and data["frame_size"].tolist() == [SIDE, SIDE]
        boxes = data["crop_boxes"]
        settings = json.loads(str(data["settings"]))
    assert boxes.dtype == np.int32 and boxes.shape == (len(vs), 4)
    assert np.all(boxes[:, 2] == boxes[:, 3]) and len(set(boxes[:, 2])) == 1   # one square side for the video
    assert settings["has_plate"] is True
    assert isinstance(settings["plate_error"], float) and 0 <= settings["plate_error"] < PLATE_MAX_ERROR
    assert sorted(os.listdir(os.path.join(vs.directory, "masks"))) == sorted(f"image{n}.png" for n in vs.frame)
    plate = cv2.imread(os.path.join(vs.directory, "background.png"))
    assert plate.shape == (SIDE, SIDE, 3)
    assert "no background plate" not in sample["printed"]


def test_the_loaded_dataset_offers_the_scene(sample):
    vs = sample["vs"]
    assert vs.has_plate is True and vs.frame_size == (SIDE, SIDE)
    assert vs.plate.shape == (SIDE, SIDE, 3) and vs.plate.dtype == np.uint8
    assert vs.plate is vs.plate, "read once"
    # The boxes take the crop landmarks back to the frame: the dancer's true joints.
    side, corners = vs.crop_boxes[:, 2:3, None], vs.crop_boxes[:, None, :2]
    in_frame = vs.landmarks[:, REDUCED_INDICES, :2] * side + corners
    truth = sample["truth"][vs.frame][:, REDUCED_INDICES, :2] * SIDE
    assert np.linalg.norm(in_frame - truth, axis=-1).mean() < 6
    mask = vs.readMask(0)
    assert mask.shape == (SIZE, SIZE) and mask.dtype == np.uint8
    # Loading the folder gives the same as the preparation's answer.
    again = VideoSkeleton(vs.directory)
    assert again.has_plate and again.frame_size == vs.frame_size
    np.testing.assert_array_equal(again.crop_boxes, vs.crop_boxes)
    np.testing.assert_array_equal(again.readMask(3), vs.readMask(3))


# ---------------------------------------------------------------------- the plate
def test_the_plate_recovers_the_room_where_the_dancer_never_stood(sample):
    """Against the true empty room, the plate is as close as the video itself allows (its codec
    alone differs from the rendering by ~3 grey levels)."""
    vs = sample["vs"]
    room = DanceSample.render_background(SIDE, SIDE, DanceSample.TARGET_LOOK).astype(int)
    people = np.array([true_person(sample["truth"][n]) for n in vs.frame])
    never = cv2.dilate(people.any(axis=0).astype(np.uint8), np.ones((15, 15), np.uint8)) == 0
    assert never.mean() > 0.3, "the dancer leaves a good part of the room in view"
    plate_error = np.abs(vs.plate.astype(int) - room).mean(axis=2)
    reader = VideoReader(sample["paths"]["target_video"])
    codec_error = np.mean([np.abs(frame.astype(int) - room).mean(axis=2) for frame in reader], axis=0)
    reader.release()
    assert plate_error[never].mean() < 4.5, plate_error[never].mean()
    assert plate_error[never].mean() < codec_error[never].mean() + 0.5, (plate_error, codec_error)
    # Where the dancer stood in some frames only, the plate shows the room, not the dancer; even where
    # they stood in most frames (a plain median would give the dancer there: ~80 grey levels off).
    share = people.mean(axis=0)
    for low, high, within in ((0.01, 0.5, 4), (0.5, 1, 10)):
        region = (share >= low) & (share < high)
        assert region.sum() > 1000
        assert plate_error[region].mean() < within, (low, high, plate_error[region].mean())
    # The furniture is there, as sharp as in the room: the shelf of books, the rug.
    for x0, y0, x1, y1 in ((0.81, 0.44, 0.99, 0.58), (0.02, 0.80, 0.31, 0.98)):
        part = np.s_[int(y0 * SIDE):int(y1 * SIDE), int(x0 * SIDE):int(x1 * SIDE)]
        assert vs.plate[part].std() > 0.85 * room[part].std() > 20
        assert plate_error[part].mean() < codec_error[part].mean() + 1


def test_plate_crop_is_the_crop_of_the_plate_and_matches_the_frames_around_the_person(sample):
    vs = sample["vs"]
    for i in (0, len(vs) // 2, len(vs) - 1):
        box = vs.crop_boxes[i]
        crop = vs.plate_crop(box, SIZE)
        np.testing.assert_array_equal(crop, crop_square(vs.plate, box[:2], box[2], SIZE))
        np.testing.assert_array_equal(vs.plate_crop(tuple(box[:3]), SIZE), crop)   # (x0, y0, side) works too
        clear = vs.readMask(i) < 10
        assert np.abs(vs.readImage(i).astype(int) - crop)[clear].mean() < 6
    # A box passing the frame's edge repeats its border pixels, as the crops do.
    outside = vs.plate_crop((-SIDE // 2, -SIDE // 2, SIDE, SIDE), 32)
    assert outside.shape == (32, 32, 3)
    np.testing.assert_array_equal(outside[:8, :8], np.broadcast_to(vs.plate[0, 0], (8, 8, 3)))


def test_typical_box_is_where_the_person_usually_stands(sample):
    vs = sample["vs"]
    x0, y0, side, side2 = vs.typical_box()
    assert side == side2 == vs.crop_boxes[0, 2]
    centres = vs.crop_boxes[:, :2] + side / 2
    assert np.abs(np.array([x0, y0]) + side / 2 - np.median(centres, axis=0)).max() <= 1


def test_a_shot_change_gets_no_plate_and_its_preparation_still_works(tmp_path):
    paths = DanceSample.make_target_variant(str(tmp_path), "cut", seconds=SECONDS)
    vs, printed = prepare(paths["video"], tmp_path / "cut")
    lines = [line for line in printed.splitlines() if "no background plate" in line]
    assert len(lines) == 1 and "shot changes" in lines[0] and "target_cut.mp4" in lines[0], printed
    assert vs.settings["has_plate"] is False
    assert not os.path.exists(os.path.join(vs.directory, "background.png"))
    assert vs.has_plate is False and vs.plate is None and vs.plate_crop(vs.crop_boxes[0], SIZE) is None
    # Everything else is there: crops, masks, boxes, the frame size.
    assert len(vs) >= 0.9 * len(range(0, int(SECONDS * 25), MOD_FRAME))
    assert vs.readImage(0).shape == (SIZE, SIZE, 3) and vs.readMask(0).shape == (SIZE, SIZE)
    assert vs.frame_size == (320, 240) and vs.crop_boxes.shape == (len(vs), 4)


def test_a_shaken_camera_is_followed_and_gets_a_plate_that_fits(sample, shaken):
    """The sample filmed by a camera that pans back and forth by 12 pixels: the frames are placed in one
    view, and the plate fits them about as well as a still camera's fits its own."""
    vs, printed = shaken["vs"], shaken["printed"]
    assert vs.has_plate, printed
    assert "camera moves" in printed
    still = sample["vs"].settings["plate_error"]
    assert vs.settings["plate_error"] < PLATE_MAX_ERROR / 2 and still < PLATE_MAX_ERROR / 3
    # Each frame's shift against the first kept frame, as shaken_copy made it (dx, dx / 2), within a pixel.
    relative = np.linalg.inv(vs.camera[0]) @ vs.camera
    dx = np.array([shaken_shift(frame) for frame in vs.frame])
    found = -relative[:, :2, 2]
    np.testing.assert_allclose(found[:, 0], dx - dx[0], atol=1.0)
    np.testing.assert_allclose(found[:, 1], (dx - dx[0]) / 2, atol=1.0)


# ---------------------------------------------------------------------- the masks
def test_masks_cover_the_person_and_nothing_far_from_them(sample):
    vs = sample["vs"]
    inside, overlaps = [], []
    for i in range(len(vs)):
        mask = vs.readMask(i)
        joints = vs.landmarks[i, REDUCED_INDICES, :2] * SIZE
        for x, y in joints:
            if 0 <= x < SIZE and 0 <= y < SIZE:
                inside.append(mask[int(y), int(x)])
        for corner in (mask[:6, :6], mask[:6, -6:]):   # the wall's top corners, far from the dancer
            assert corner.max() < 13, f"item {i}: the mask reaches a top corner"
        # The mask is the dancer's: it overlaps their true silhouette, cut with the same box.
        x0, y0, side, _ = vs.crop_boxes[i]
        truth = crop_square(true_person(sample["truth"][vs.frame[i]]).astype(np.uint8) * 255, (x0, y0), side, SIZE)
        found, true = mask > 127, truth > 127
        overlaps.append((found & true).sum() / (found | true).sum())
    assert len(inside) > 10 * len(vs)
    assert min(inside) > 127, "every joint inside the crop lies on the mask"
    assert min(overlaps) > 0.6, f"the mask overlaps the true silhouette by only {min(overlaps):.2f}"


def test_packed_masks_come_back_whole():
    """Pass 1 keeps each mask packed until its crop is known: unpacked, it is the same mask in 0-255."""
    mask = np.zeros((50, 80), np.float32)
    mask[10:50, 60:80] = np.linspace(0.2, 1.0, 20)      # a person cut by the frame's right and bottom edges
    mask[30, 5] = 0.001                                 # rounds to 0: outside the packed rectangle
    packed = BackgroundPlate.pack_mask(mask)
    assert packed[:4] == (60, 10, 20, 40) and len(packed[4]) < mask.size
    np.testing.assert_array_equal(BackgroundPlate.unpack_mask(packed, 80, 50), np.round(mask * 255).astype(np.uint8))
    np.testing.assert_array_equal(BackgroundPlate.unpack_mask(BackgroundPlate.pack_mask(None), 80, 50), 0)
    # Cut as an image is: a box past the frame's edge repeats the mask's edge.
    crop = crop_square(BackgroundPlate.unpack_mask(packed, 80, 50), (60, 20), 40, 40)
    assert crop[:, 20:].min() == 255 and crop[-1, -1] == 255


def test_subset_keeps_boxes_and_masks_with_their_items(sample):
    vs = sample["vs"]
    picks = [7, 2, len(vs) - 1]
    part = vs.subset(picks)
    assert len(part) == 3
    np.testing.assert_array_equal(part.crop_boxes, vs.crop_boxes[picks])
    np.testing.assert_array_equal(part.frame, vs.frame[picks])
    for j, i in enumerate(picks):
        np.testing.assert_array_equal(part.readMask(j), vs.readMask(i))
        np.testing.assert_array_equal(part.readImage(j), vs.readImage(i))
    assert part.has_plate
    np.testing.assert_array_equal(part.plate, vs.plate)
    assert part.typical_box() is not None and vs.crop_boxes.shape == (len(vs), 4), "the whole is untouched"


# ---------------------------------------------------------------------- datasets without the scene
def test_the_course_dataset_has_no_scene(taichi1):
    """The real footage's taichi1 (conftest.py's fixture: skips, with its reason, when it is absent)."""
    vs = VideoSkeleton(str(taichi1))
    assert vs.has_plate is False and vs.plate is None
    assert vs.readMask(0) is None and vs.masks is None
    assert vs.crop_boxes is None and vs.frame_size is None and vs.typical_box() is None
    assert vs.plate_crop((0, 0, 100), 64) is None
    part = vs.subset([0, 5])
    assert part.readMask(1) is None and part.crop_boxes is None


def test_a_dataset_prepared_before_the_scene_loads_then_is_prepared_again(sample, tmp_path):
    """A dataset of the same settings without masks or plate (as prepared before the scene) loads as it
    is; asked for its video, it is prepared again, with the same skeletons (its models stay valid)."""
    vs = sample["vs"]
    old = tmp_path / "old"
    shutil.copytree(vs.directory, old)
    shutil.rmtree(old / "masks")
    os.remove(old / "background.png")
    with np.load(old / "landmarks.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files if key != "frame_size"}
    settings = json.loads(str(arrays["settings"]))
    del settings["has_plate"], settings["plate_error"]
    arrays["settings"] = np.array(json.dumps(settings))
    np.savez(old / "landmarks.npz", **arrays)

    loaded = VideoSkeleton(str(old))
    assert loaded.has_plate is False and loaded.plate is None and loaded.readMask(0) is None
    assert loaded.frame_size == (SIDE, SIDE), "from the settings' video size"
    np.testing.assert_array_equal(loaded.crop_boxes, vs.crop_boxes)

    again, _ = prepare(sample["paths"]["target_video"], old)
    assert again.reused is False and again.has_plate and again.readMask(0) is not None
    assert again.fingerprint == vs.fingerprint
    assert prepare(sample["paths"]["target_video"], old)[0].reused is True


# ---------------------------------------------------------------------- the pieces
def test_pose_detector_gives_the_mask_only_when_asked(sample):
    reader = VideoReader(sample["paths"]["target_video"])
    frame = reader.readFrame()
    reader.release()
    truth = sample["truth"][0]
    with PoseDetector(static_image_mode=True, segmentation=True) as detector:
        assert detector.detect(frame) is not None
        mask = detector.last_mask
        assert mask.dtype == np.float32 and mask.shape == (SIDE, SIDE)
        assert 0 <= mask.min() and mask.max() <= 1
        chest = ((truth[11, :2] + truth[24, :2]) / 2 * SIDE).astype(int)
        assert mask[chest[1], chest[0]] > 0.9 and mask[:10, :10].max() < 0.05
        assert detector.detect(np.full_like(frame, 128)) is None and detector.last_mask is None
    with PoseDetector(static_image_mode=True) as detector:
        assert detector.detect(frame) is not None and detector.last_mask is None


def test_background_plate_is_the_median_of_the_clear_values_whatever_the_strips(monkeypatch):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (9, 7, 3), dtype=np.uint8) for _ in range(6)]
    covers = [(rng.random((9, 7)) < 0.4).astype(np.uint8) for _ in range(6)]
    for cover in covers:
        cover[0, 0] = 1                   # a pixel where the person always stands
    boxes = [(0, 0, 9)] * 6
    monkeypatch.setattr(BackgroundPlate, "PLATE_STRIP_VALUES", 1)      # one row at a time
    median, clear_count, seen_count = BackgroundPlate.aligned_median(frames, covers, [np.eye(3)] * 6, (7, 9), [None] * 6)
    monkeypatch.setattr(BackgroundPlate, "PLATE_STRIP_VALUES", 1 << 30)
    whole, _, _ = BackgroundPlate.aligned_median(frames, covers, [np.eye(3)] * 6, (7, 9), [None] * 6)
    np.testing.assert_array_equal(median, whole)
    stack, covered = np.stack(frames).astype(float), np.stack(covers).astype(bool)
    for y in range(9):
        for x in range(7):
            clear = stack[~covered[:, y, x], y, x]
            assert clear_count[y, x] == len(clear) and seen_count[y, x] == 6
            if len(clear):
                np.testing.assert_allclose(median[y, x], np.floor(np.median(clear, axis=0) + 0.5), atol=0)
    # The plate is that median where enough frames saw the room; the always covered pixel is filled from
    # its neighbours, not left as a made-up value.
    made = BackgroundPlate.background_plate(frames, covers, boxes)
    plate, error = made.image, made.error
    known = made.confidence == 255
    np.testing.assert_array_equal(plate[known], median[known])
    assert made.confidence[0, 0] == 0 and (made.exposures == np.float32([[1, 1, 1], [0, 0, 0]])).all()
    near = plate[:4, :4].reshape(-1, 3)[1:]
    assert np.all(near.min(axis=0) <= plate[0, 0]) and np.all(plate[0, 0] <= near.max(axis=0))
    known_of = [known & ~c.astype(bool) for c in covers]
    differences = [np.abs(f.astype(float) - plate)[k].mean() for f, k in zip(frames, known_of)]
    weights = [k.sum() for k in known_of]
    assert error == pytest.approx(np.average(differences, weights=weights))

"""The background plate for videos as people film them: auto-exposure, a drifting or panning camera,
a dancer who never leaves one spot, and a shot change. Each case is the synthetic sample filmed that
way (DanceSample.make_target_variant), with the truth of its camera and exposure to check against."""
import contextlib
import io

import cv2
import numpy as np
import pytest

import DanceSample
from VideoSkeleton import VideoSkeleton

SECONDS, MOD_FRAME, SIZE = 3.0, 2, 64
FEW_GREY_LEVELS = 4.0


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """prepared(kind) -> (VideoSkeleton, what the preparation printed, the truth npz as a dict); once per kind."""
    folder = tmp_path_factory.mktemp("camera_plates")
    done = {}

    def prepare(kind):
        if kind not in done:
            paths = DanceSample.make_target_variant(str(folder), kind, seconds=SECONDS)
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                vs = VideoSkeleton(paths["video"], modFrame=MOD_FRAME, size=SIZE, out_dir=str(folder / kind),
                                   progress=False)
            with np.load(paths["truth"], allow_pickle=False) as truth:
                done[kind] = vs, printed.getvalue(), {key: truth[key] for key in truth.files}
        return done[kind]
    return prepare


def relative_to_first(cameras):
    """Each kept frame's transform into the first kept frame's pixels."""
    return np.linalg.inv(cameras[0]) @ cameras


def corner_error(found, truth, width, height):
    """The largest distance (pixels) between where two transforms put the frame's corners and centre."""
    points = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1], [width / 2, height / 2, 1]]).T
    a, b = found @ points, truth @ points
    return np.abs(a[:2] / a[2] - b[:2] / b[2]).max()


@pytest.mark.parametrize("kind", ["drift", "pan"])
def test_the_camera_is_recovered_within_a_pixel(kind, prepared):
    vs, printed, truth = prepared(kind)
    assert vs.has_plate, printed
    found = relative_to_first(vs.camera.astype(np.float64))
    expected = relative_to_first(truth["camera"][vs.frame])
    width, height = vs.frame_size
    errors = [corner_error(f, t, width, height) for f, t in zip(found, expected)]
    assert max(errors) < 1.0, errors
    moved = max(corner_error(np.eye(3), t, width, height) for t in expected)
    assert moved > 5, "the variant does move the camera"


@pytest.mark.parametrize("kind", ["still", "exposure", "spot"])
def test_a_still_camera_keeps_its_frames_as_they_are(kind, prepared):
    vs, printed, truth = prepared(kind)
    assert vs.has_plate, printed
    assert np.array_equal(vs.camera, np.repeat(np.eye(3, dtype=np.float32)[None], len(vs), axis=0))
    assert vs.plate_size == vs.frame_size and "camera still" in printed


@pytest.mark.parametrize("kind", ["still", "exposure", "drift", "pan", "spot"])
def test_the_plate_fits_its_frames_after_alignment(kind, prepared):
    vs, printed, truth = prepared(kind)
    assert vs.settings["plate_error"] < FEW_GREY_LEVELS, printed
    assert f"fits the frames within {vs.settings['plate_error']:.1f}" in printed


def test_a_pan_gets_a_plate_larger_than_its_frames_and_says_how_the_camera_moved(prepared):
    vs, printed, truth = prepared("pan")
    width, height = vs.frame_size
    assert vs.plate_size[0] > width + 30 and vs.plate.shape[1::-1] == vs.plate_size
    line = next(line for line in printed.splitlines() if "background plate" in line)
    assert "camera moves" in line and "zooms" in line and f"plate {vs.plate_size[0]}x{vs.plate_size[1]}" in line


def test_auto_exposure_is_measured_and_undone(prepared):
    vs, printed, truth = prepared("exposure")
    gain = vs.exposure[:, 0].mean(axis=1)                    # each frame -> the plate's exposure
    true_gain = truth["gain"][vs.frame].mean(axis=1)          # the scene -> each frame
    relative = gain[0] / gain                                 # how much brighter than the first kept frame
    np.testing.assert_allclose(relative, true_gain / true_gain[0], rtol=0.02)
    assert "exposure varies 20 %" in printed or "exposure varies 19 %" in printed or "exposure varies 21 %" in printed


@pytest.mark.parametrize("kind", ["exposure", "pan"])
def test_the_plate_as_a_frame_saw_it_matches_that_frames_crop_around_the_person(kind, prepared):
    """What the networks are trained against: the plate's crop through a frame's camera and exposure."""
    vs, printed, truth = prepared(kind)
    for i in (0, len(vs) // 2, len(vs) - 1):
        seen = vs.plate_crop(vs.crop_boxes[i], SIZE, view=vs.view(i)).astype(int)
        real = vs.readImage(i).astype(int)
        away = cv2.dilate(vs.readMask(i), np.ones((9, 9), np.uint8)) < 64
        assert np.abs(seen - real)[away].mean() < FEW_GREY_LEVELS, i


def test_a_dancer_on_one_spot_leaves_the_plate_unsure_there_not_a_ghost(prepared):
    vs, printed, truth = prepared("spot")
    confidence = vs.confidence
    width, height = vs.frame_size
    # The middle of the torso, where the dancer stands in every frame.
    torso = truth["landmarks"][:, [11, 12, 23, 24], :2].mean(axis=(0, 1)) * (width, height)
    x, y = np.round(torso).astype(int)
    assert confidence[y, x] < 128
    assert confidence[5, 5] == 255 and confidence[height - 5, 5] == 255
    # Where the plate does not know, it is filled from the room around, not with the dancer's colours.
    room = truth["plate"].astype(int)
    assert np.abs(vs.plate[y, x].astype(int) - room[y, x]).max() < 60
    shirt = np.array(DanceSample.TARGET_LOOK["shirt"])
    assert np.abs(vs.plate[y, x].astype(int) - shirt).sum() > 60


def test_the_nearest_generator_pastes_its_own_crop_where_the_plate_is_unsure(prepared):
    from GenNearest import GenNearest
    vs, printed, truth = prepared("spot")
    gen = GenNearest(vs)
    for i in (0, len(vs) // 2):
        person, alpha, background = gen.generate_layers(vs.ske[i], box=vs.crop_boxes[i])
        unsure = 1 - vs.confidence_crop(vs.crop_boxes[i], SIZE) / 255
        assert unsure.max() > 0.5 and np.all(alpha >= unsure - 1e-6)


def test_training_does_not_push_the_opacity_to_0_where_the_plate_is_unsure(prepared):
    from GenVanilla import VideoSkeletonDataset
    vs, printed, truth = prepared("spot")
    dataset = VideoSkeletonDataset(vs, optSkeOrImage=2, image_size=SIZE, plate=True)
    for i in (0, len(vs) // 2):
        _, _, _, mask = dataset.item(i, augment=False)
        unsure = vs.confidence_crop(vs.crop_boxes[i], SIZE, view=vs.view(i)) < 128
        assert unsure.any() and mask[unsure].min() >= 127


def test_a_shot_change_still_gets_no_plate(prepared):
    vs, printed, truth = prepared("cut")
    assert not vs.has_plate
    line = next(line for line in printed.splitlines() if "no background plate" in line)
    assert "the shot changes" in line
    near = int(line.split("near frame ")[1].split(")")[0])
    assert abs(near - int(truth["cut"])) <= MOD_FRAME


def test_the_scene_of_a_panning_target_is_shown_as_if_the_camera_stood_still(prepared, tmp_path, run_cli, read_frames):
    """The output is the plate's view (wider than a frame), the same room in every frame: a steady scene."""
    vs, printed, truth = prepared("pan")
    source = DanceSample.make_sample(str(tmp_path / "source"), seconds=1.0, width=240, height=240)["source_video"]
    out = tmp_path / "scene.mp4"
    code, stdout, stderr = run_cli("DanceDemo.py", "--source", source, "--data", vs.directory, "--gen", "nearest",
                                   "--view", "scene", "--out", out)
    assert code == 0, stderr
    frames = read_frames(out)
    width, height = vs.plate_size
    assert len(frames) == 25 and frames[0].shape[0] == height
    scenes = [frame[:, -width:].astype(int) for frame in frames]
    for scene in scenes:   # the room stands still: far from the person, each frame is the plate
        assert np.median(np.abs(scene - vs.plate)) < 6

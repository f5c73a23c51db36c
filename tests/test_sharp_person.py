"""The sharp person: crops kept at a high resolution beside the networks' ones, pasted by the nearest
neighbour and scored by DanceEval where the scene pastes the person. On the synthetic sample
(`sample_dataset`: 240 px video, 64 px crops, sharp crops at the crop's own side)."""
import json
import shutil

import cv2
import numpy as np
import pytest

import DanceEval
from DanceDemo import layers_of
from DatasetFolder import HIGH_IMAGES, HIGH_MASKS, LANDMARKS_FILE
from GenNearest import GenNearest
from VideoSkeleton import HIGH_SIZE, VideoSkeleton

ITEMS = (0, 17, 55, 99)   # spread over the sample's 100 frames


def laplacian_variance(image):
    return cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()


def test_sharp_crops_and_masks_exist_and_shrink_to_the_crops(sample_dataset):
    vs = sample_dataset
    side = int(vs.crop_boxes[0, 2])
    assert vs.high_size == min(HIGH_SIZE, side) > vs.image_size
    for k in ITEMS:
        sharp, mask = vs.readHighImage(k), vs.readHighMask(k)
        assert sharp.shape == (vs.high_size, vs.high_size, 3) and mask.shape == (vs.high_size, vs.high_size)
        shrunk = cv2.resize(sharp, (vs.image_size,) * 2, interpolation=cv2.INTER_AREA)
        assert np.abs(shrunk.astype(float) - vs.readImage(k)).mean() < 4          # the same square, JPEG apart
        shrunk_mask = cv2.resize(mask, (vs.image_size,) * 2, interpolation=cv2.INTER_AREA)
        assert np.abs(shrunk_mask.astype(float) - vs.readMask(k)).mean() < 4
        assert (mask > 127).mean() > 0.05                                           # the person is in it
        # Sharper than the network's crop enlarged to its size.
        enlarged = cv2.resize(vs.readImage(k), (vs.high_size,) * 2, interpolation=cv2.INTER_CUBIC)
        assert laplacian_variance(sharp) > 2 * laplacian_variance(enlarged)


def test_nearest_pastes_its_sharp_crop_at_the_size_asked(sample_dataset):
    vs = sample_dataset
    gen = GenNearest(vs)
    assert gen.plate and gen.sharp_size == vs.high_size
    for k in ITEMS:   # a pose of the dataset: its own frame is the nearest
        box, view = vs.crop_boxes[k], vs.view(k)
        person, alpha, background = gen.generate_layers(vs.ske[k], box, view, size=vs.high_size)
        np.testing.assert_array_equal(person, vs.readHighImage(k))
        assert alpha.shape == background.shape[:2] == (vs.high_size, vs.high_size)
        assert alpha[vs.readHighMask(k) > 127].min() > 0.99                        # the whole person comes
        half = vs.high_size // 2
        assert gen.generate(vs.ske[k], box, view, size=half).shape == (half, half, 3)
        # The default size stays the dataset's crops'.
        np.testing.assert_array_equal(gen.generate_layers(vs.ske[k], box, view)[0], vs.readImage(k))


def test_the_scene_asks_the_nearest_for_the_box_size_up_to_its_sharp_crops(sample_dataset):
    vs = sample_dataset
    gen = GenNearest(vs)
    k = ITEMS[1]
    small_box = np.array([*vs.crop_boxes[k][:2], 100, 100])
    assert layers_of(gen, vs.ske[k], small_box)[0].shape == (100, 100, 3)
    big_box = np.array([*vs.crop_boxes[k][:2], 4 * vs.high_size, 4 * vs.high_size])
    assert layers_of(gen, vs.ske[k], big_box)[0].shape == (vs.high_size, vs.high_size, 3)


def test_without_sharp_crops_the_nearest_enlarges_its_crop(sample_videos, tmp_path):
    vs = VideoSkeleton(str(sample_videos.target), modFrame=10, size=64, out_dir=str(tmp_path / "plain"),
                       progress=False, highSize=0)
    assert vs.high_size == 0 and vs.readHighImage(0) is None
    assert not (tmp_path / "plain" / HIGH_IMAGES).exists() and not (tmp_path / "plain" / HIGH_MASKS).exists()
    gen = GenNearest(vs)
    assert gen.sharp_size == 0
    box = vs.crop_boxes[3]
    assert layers_of(gen, vs.ske[3], box)[0].shape == (64, 64, 3)     # the scene enlarges it when pasting
    assert gen.generate(vs.ske[3], box, vs.view(3), size=128).shape == (128, 128, 3)


def test_a_dataset_prepared_before_the_sharp_crops_is_reused_as_it_is(sample_dataset, sample_videos, tmp_path,
                                                                        monkeypatch):
    folder = tmp_path / "older"
    shutil.copytree(sample_dataset.directory, folder)
    shutil.rmtree(folder / HIGH_IMAGES)
    shutil.rmtree(folder / HIGH_MASKS)
    with np.load(folder / LANDMARKS_FILE, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    settings = json.loads(str(arrays["settings"]))
    del settings["high_size"], settings["high_crop_size"]
    arrays["settings"] = np.array(json.dumps(settings))
    np.savez(folder / LANDMARKS_FILE, **arrays)

    import VideoSkeleton as vs_module
    monkeypatch.setattr(vs_module, "prepare_dataset", lambda *a, **k: pytest.fail("prepared again"))
    vs = VideoSkeleton(str(sample_videos.target), out_dir=str(folder), progress=False)
    assert vs.reused and vs.high_size == 0
    assert GenNearest(vs).generate(vs.ske[0], vs.crop_boxes[0], vs.view(0), size=128).shape == (128, 128, 3)


def test_eval_scores_the_person_where_the_scene_pastes_it(sample_dataset, tmp_path):
    report = DanceEval.evaluate(sample_dataset.directory, str(tmp_path / "eval"), gens=["nearest"], quick=True,
                                progress=False)
    assert report["paste_size"] == min(DanceEval.PASTE_SIZE, sample_dataset.high_size)
    for name in ("nearest", "nearest_noplate"):
        at_paste = report["generators"][name]["at_paste"]
        # Another frame's sharp crop (the test poses are not in its training frames): about as sharp as the
        # real crop, where the 64 px crop enlarged 3x would score a fraction of it (see the first test).
        assert 0.7 < at_paste["sharpness_person"] < 1.3
        assert at_paste["ssim_person"] > 0.3
    assert "where the scene pastes it" in (tmp_path / "eval" / "report.md").read_text()

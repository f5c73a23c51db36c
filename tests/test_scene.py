"""The scene: networks that draw the person over the background plate, the whole frame as output,
and the measures that score the person apart. On the project's synthetic sample (a still camera)."""
import json

import cv2
import numpy as np
import pytest
import torch

import DanceSample
from DanceEval import grid_energy, image_scores
from DanceScene import Scene, border_fade, full_frame
from DanceUtils import DanceError, blend
from GenGAN import GenGAN
from GenNearest import GenNearest
from DanceNetworks import GenNNSkeImToImage, NearestUpConv2d, build_generator, composite
from GenVanilla import GenVanillaNN
from VideoSkeleton import VideoSkeleton
from VideoWriter import a_core_for_the_encoder

SIZE = 64


@pytest.fixture(scope="module")
def scene_sample(tmp_path_factory):
    """The synthetic sample (still camera) prepared at 64 px with masks and a background plate."""
    folder = tmp_path_factory.mktemp("scene")
    paths = DanceSample.make_sample(str(folder / "videos"), seconds=3.0, width=320, height=240)
    target = VideoSkeleton(paths["target_video"], modFrame=2, size=SIZE, out_dir=str(folder / "target"),
                           progress=False)
    assert target.has_plate, "the synthetic sample is filmed with a still camera: it must get a plate"
    return {"folder": folder, "target": target, "source": paths["source_video"], "videos": paths}


def test_composite_is_the_background_where_the_opacity_is_0_and_the_person_where_it_is_1():
    torch.manual_seed(0)
    colours, background = torch.rand(2, 3, 8, 8) * 2 - 1, torch.rand(2, 3, 8, 8) * 2 - 1
    transparent = torch.cat([colours, -torch.ones(2, 1, 8, 8)], dim=1)
    opaque = torch.cat([colours, torch.ones(2, 1, 8, 8)], dim=1)
    image, alpha = composite(transparent, background)
    assert torch.equal(image, background) and torch.all(alpha == 0)
    image, alpha = composite(opaque, background)
    assert torch.allclose(image, colours) and torch.all(alpha == 1)


def test_blend_is_the_opacity_weighted_mean_of_person_and_background():
    rng = np.random.default_rng(0)
    person, background = rng.integers(0, 256, (2, 40, 30, 3), dtype=np.uint8)
    alpha = rng.random((40, 30))
    alpha[:5], alpha[-5:] = 0, 1
    exact = alpha[..., None] * person + (1 - alpha[..., None]) * background
    out = blend(person, alpha, background)
    assert out.dtype == np.uint8 and out.shape == person.shape
    assert np.abs(out - exact).max() <= 1   # to the rounding
    assert np.array_equal(out[:5], background[:5]) and np.array_equal(out[-5:], person[-5:])


def test_writing_a_video_leaves_the_encoder_a_core_and_gives_it_back():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with a_core_for_the_encoder():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        with a_core_for_the_encoder():   # never below one thread
            assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_the_unet_upsamples_without_transposed_convolutions_and_old_files_keep_theirs():
    new = GenNNSkeImToImage(SIZE, 8, in_channels=6, out_channels=4)
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in new.modules())
    assert new(torch.zeros(1, 6, SIZE, SIZE)).shape == (1, 4, SIZE, SIZE)
    old = build_generator({"opt": 2, "image_size": SIZE, "ngf": 8})   # a model file of before: no such keys
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in old.modules())
    assert old(torch.zeros(1, 3, SIZE, SIZE)).shape == (1, 3, SIZE, SIZE)


def test_the_last_layer_is_exactly_an_enlargement_then_a_convolution():
    torch.manual_seed(0)
    folded = NearestUpConv2d(8, 4)
    plain = torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="nearest"), torch.nn.Conv2d(8, 4, 3, padding=1))
    plain[1].load_state_dict(folded.state_dict())
    x = torch.randn(2, 8, 7, 9, requires_grad=True)
    y = folded(x)
    assert y.shape == (2, 4, 14, 18) and torch.allclose(y, plain(x), atol=1e-5)
    y.square().sum().backward()
    grad_x, grad_w = x.grad.clone(), folded.weight.grad.clone()
    x.grad = None
    plain(x).square().sum().backward()
    assert torch.allclose(x.grad, grad_x, atol=1e-4) and torch.allclose(plain[1].weight.grad, grad_w, atol=1e-3)


def test_the_nearest_decoder_gives_every_step_a_kernel_per_pixel_and_no_checkerboard():
    """upsample "nearest": every decoder step is an enlargement then a 3x3 convolution (a transposed
    convolution with tied taps), so a flat map stays flat inside; pix2pix's free 4x4 taps do not."""
    torch.manual_seed(0)
    net = GenNNSkeImToImage(SIZE, 8, upsample_how="nearest")
    assert sum(isinstance(m, NearestUpConv2d) for m in net.modules()) == len(net.downs)   # each step and the last
    assert not any(isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Upsample)) for m in net.modules())
    assert net(torch.zeros(1, 3, SIZE, SIZE)).shape == (1, 3, SIZE, SIZE)
    flat = torch.ones(1, 8, 6, 6)
    tied = NearestUpConv2d(8, 4)(flat)[..., 1:-1, 1:-1]           # the border sees the zero padding
    free = torch.nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)(flat)[..., 1:-1, 1:-1]
    assert torch.allclose(tied, tied[..., :1, :1].expand_as(tied), atol=1e-5)
    assert not torch.allclose(free, free[..., :1, :1].expand_as(free), atol=1e-3)


def test_the_folded_kernel_kept_for_generation_follows_the_weights():
    """Generating reuses the folded kernel; a training step or a loaded file must not leave it stale."""
    torch.manual_seed(0)
    folded = NearestUpConv2d(8, 4)
    plain = torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="nearest"), torch.nn.Conv2d(8, 4, 3, padding=1))
    x = torch.randn(1, 8, 5, 5)
    optimiser = torch.optim.SGD(folded.parameters(), lr=0.5)
    for _ in range(2):
        with torch.inference_mode():
            generated = folded(x)
        plain[1].load_state_dict(folded.state_dict())
        assert torch.allclose(generated, plain(x), atol=1e-5)
        folded(x).square().sum().backward()                        # a training step changes the weights
        optimiser.step()
    folded.load_state_dict(NearestUpConv2d(8, 4).state_dict())    # so does loading another file
    plain[1].load_state_dict(folded.state_dict())
    with torch.no_grad():
        assert torch.allclose(folded(x), plain(x), atol=1e-5)


def test_an_unknown_decoder_is_refused_in_one_line(scene_sample):
    with pytest.raises(DanceError, match="upsample 'bicubic': not a U-Net decoder; choose one of resize, nearest, transpose"):
        GenVanillaNN(scene_sample["target"], optSkeOrImage=2, upsample="bicubic", device="cpu")


def test_a_unet_file_with_the_enlargement_as_a_layer_of_its_own_still_loads():
    torch.manual_seed(0)
    net = GenNNSkeImToImage(SIZE, 8, in_channels=6, out_channels=4).eval()
    older = {key.replace("last.0.", "last.1."): value for key, value in net.state_dict().items()}
    assert "last.1.weight" in older and "last.0.weight" not in older   # the layout of the first "resize" files
    again = GenNNSkeImToImage(SIZE, 8, in_channels=6, out_channels=4).eval()
    again.load_state_dict(older)
    x = torch.randn(1, 6, SIZE, SIZE)
    assert torch.equal(again(x), net(x))


def test_the_grid_measure_sees_a_checkerboard():
    rng = np.random.default_rng(0)
    smooth = cv2.GaussianBlur(rng.integers(0, 255, (64, 64, 3)).astype(np.uint8), (9, 9), 3)
    checker = (np.indices((64, 64)).sum(axis=0) % 2 * 16)[..., None].astype(np.int16)
    gridded = np.clip(smooth.astype(np.int16) + checker, 0, 255).astype(np.uint8)
    assert grid_energy([gridded]) > 5 * grid_energy([smooth])
    scores = image_scores([smooth, smooth], [smooth, smooth])
    assert scores["grid"] == pytest.approx(1.0)
    assert image_scores([gridded, gridded], [smooth, smooth])["grid"] > 5


def test_person_scores_look_only_inside_the_mask():
    real = np.full((32, 32, 3), 100, np.uint8)
    fake = real.copy()
    fake[:, 16:] = 0                       # wrong only on the right half
    left = np.zeros((32, 32), bool)
    left[:, :12] = True                    # the person stands on the left
    scores = image_scores([fake, fake], [real, real], [left, left])
    assert scores["psnr_person"] > 60 and scores["ssim_person"] > 0.95   # SSIM windows near the edge see the right half
    assert scores["psnr"] < 20


def test_paste_keeps_the_plate_where_the_opacity_is_0_and_shows_no_border(scene_sample):
    target = scene_sample["target"]
    scene = Scene(target)
    plate = target.plate
    box = target.crop_boxes[len(target) // 2]
    person = np.zeros((SIZE, SIZE, 3), np.uint8)
    assert np.array_equal(scene.paste(person, np.zeros((SIZE, SIZE), np.float32), box), plate)
    frame = scene.paste(person, np.ones((SIZE, SIZE), np.float32), box)   # an opaque black square
    assert frame.shape == plate.shape
    x0, y0, side = (int(v) for v in box[:3])
    inside = (slice(max(y0, 0), y0 + side), slice(max(x0, 0), x0 + side))
    assert frame[inside].mean() < plate[inside].mean()             # the square is there...
    ring = border_fade(side) < 0.05                                 # ...but fades out at the box's border
    region = ring[max(0, -y0):max(0, -y0) + frame[inside].shape[0], max(0, -x0):max(0, -x0) + frame[inside].shape[1]]
    assert np.abs(frame[inside][region].astype(int) - plate[inside][region]).max() <= 13
    h, w = plate.shape[:2]                                          # a box half outside the frame
    edge = scene.paste(person, np.ones((SIZE, SIZE), np.float32), np.array([w - side // 2, -side // 2, side, side]))
    assert edge.shape == plate.shape and edge[: side // 4, -side // 4:].mean() < plate[: side // 4, -side // 4:].mean()


def test_full_frame_landmarks_undo_the_crop(scene_sample):
    target = scene_sample["target"]
    scene = Scene(target)
    pose = full_frame(target.landmarks, target.crop_boxes)[3]
    box = target.crop_boxes[3]
    assert np.allclose(scene.crop_skeleton(pose, box).landmarks[:, :2], target.landmarks[3][:, :2], atol=1e-4)


def test_networks_over_the_plate_train_and_draw_the_plate_where_transparent(scene_sample):
    target = scene_sample["target"]
    torch.manual_seed(0)
    gen = GenGAN(target, image_size=SIZE, device="cpu", ngf=8, ndf=8,
                 model_dir=str(scene_sample["folder"] / "models"))
    assert gen.plate and gen.settings()["plate"] and gen.settings()["upsample"] == "resize"
    history = gen.train(1, batch_size=8, progress=False)
    assert "mask" in history[-1] and np.isfinite(history[-1]["mask"])
    box = target.crop_boxes[0]
    person, alpha, background = gen.generate_layers(target.ske[0], box)
    assert person.shape == background.shape == (SIZE, SIZE, 3) and alpha.shape == (SIZE, SIZE)
    assert 0 <= alpha.min() and alpha.max() <= 1
    assert np.array_equal(background, target.plate_crop(box, SIZE))
    loaded = GenGAN(target, loadFromFile=True, device="cpu", model_dir=str(scene_sample["folder"] / "models"))
    assert loaded.plate and np.array_equal(loaded.generate(target.ske[0], box=box), gen.generate(target.ske[0], box=box))
    flat = GenVanillaNN(target, optSkeOrImage=1, image_size=SIZE, device="cpu", ngf=8, plate=False,
                        model_dir=str(scene_sample["folder"] / "models_noplate"))
    assert not flat.plate and flat.generate_layers(target.ske[0])[1] is None


def test_nearest_puts_its_person_over_the_plate(scene_sample):
    target = scene_sample["target"]
    gen = GenNearest(target)
    assert gen.plate
    box = target.crop_boxes[5]
    person, alpha, background = gen.generate_layers(target.ske[5], box)
    assert np.array_equal(person, target.readImage(5)) and np.array_equal(background, target.plate_crop(box, SIZE))
    assert alpha.max() > 0.9 and alpha.min() < 0.1          # the person, and room around them
    mask = target.readMask(5) / 255
    assert (alpha[mask > 0.5] > 0.99).all()                  # the mask grown: the whole person is pasted
    ring = (cv2.dilate((mask > 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0) & (mask < 0.5)
    assert alpha[ring].mean() > 0.5                          # ... with a little of their surroundings
    assert not GenNearest(target, plate=False).plate


def test_the_demo_writes_the_targets_whole_scene(scene_sample, run_cli):
    target, out = scene_sample["target"], scene_sample["folder"] / "scene.mp4"
    code, stdout, stderr = run_cli("DanceDemo.py", "--source", scene_sample["source"], "--data", target.directory,
                                   "--view", "scene", "--out", out)
    assert code == 0, stderr
    video = cv2.VideoCapture(str(out))
    ok, frame = video.read()
    assert ok
    width, height = target.frame_size
    assert frame.shape[0] == height and frame.shape[1] > width   # the source panel, then the target's frame
    scene_part = frame[:, -width:]
    assert np.abs(scene_part.astype(int) - target.plate).mean() < 25   # mostly the room itself
    code, _, stderr = run_cli("DanceDemo.py", "--source", scene_sample["source"], "--data", target.directory,
                              "--view", "crop", "--out", scene_sample["folder"] / "crop.mp4")
    assert code == 0, stderr


def test_scene_is_refused_for_a_dataset_without_plate(tmp_path, scene_sample, run_cli, stderr_lines):
    moved = tmp_path / "nodata"
    import shutil
    shutil.copytree(scene_sample["target"].directory, moved)
    (moved / "background.png").unlink()
    with np.load(moved / "landmarks.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    settings = json.loads(str(arrays["settings"]))
    settings["has_plate"] = False
    arrays["settings"] = np.array(json.dumps(settings))
    np.savez(moved / "landmarks.npz", **arrays)
    code, _, stderr = run_cli("DanceDemo.py", "--source", scene_sample["source"], "--data", moved,
                              "--view", "scene", "--out", tmp_path / "x.mp4")
    lines = stderr_lines(stderr)
    assert code == 2 and len(lines) == 1 and "no background plate" in lines[0] and "--view crop" in lines[0]


def test_eval_scores_every_generator_with_and_without_the_plate(scene_sample, run_cli, tmp_path):
    code, _, stderr = run_cli("DanceEval.py", "--data", scene_sample["target"].directory, "--quick",
                              "--gens", "nearest,gan", "--out", tmp_path / "eval")
    assert code == 0, stderr
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    # With sharp crops the GAN draws its person with its enhancer, and is also scored without (gan_noenhancer).
    assert set(report["generators"]) == {"nearest", "gan", "nearest_noplate", "gan_noplate", "gan_noenhancer"}
    assert report["generators"]["gan"]["at_paste"]["ms_per_frame"] > 0
    for scores in report["generators"].values():
        assert {"ssim_person", "psnr_person", "grid"} <= set(scores)
        assert 0 < scores["ssim_person"] <= 1


def test_a_model_file_written_before_the_scene_still_loads_and_generates(scene_sample, tmp_path):
    """Files of before record neither `plate` nor `upsample`: a transposed-convolution U-Net, no plate."""
    target = scene_sample["target"]
    old = build_generator({"opt": 2, "image_size": SIZE, "ngf": 8, "dropout": 0.0})
    settings = {"kind": "vanilla_image", "opt": 2, "image_size": SIZE, "ngf": 8, "dropout": 0.0, "version": 1,
                "augment": False, "epochs": 3, "train_seconds": 1.0, "notes": {}}
    models = tmp_path / "models"
    models.mkdir()
    torch.save({"state_dict": old.state_dict(), "settings": settings}, models / f"vanilla_image_{SIZE}.pt")
    gen = GenVanillaNN(target, loadFromFile=True, optSkeOrImage=2, device="cpu", model_dir=str(models))
    assert not gen.plate and gen.network_settings["upsample"] == "transpose" and gen.epochs_done == 3
    image = gen.generate(target.ske[0])
    assert image.shape == (SIZE, SIZE, 3)
    old.eval()
    from GenVanilla import SkeToImageTransform, tensor_to_image
    with torch.no_grad():
        expected = tensor_to_image(old(SkeToImageTransform(SIZE)(target.ske[0]).unsqueeze(0)))
    assert np.array_equal(image, expected)


def test_a_live_camera_drives_the_scene_too(scene_sample):
    """CameraSource's live path (One Euro smoothing, normalisation from the recent past), fed by a
    video file in place of a webcam: every pose it yields lies in a box of the target's frame."""
    from collections import deque

    from DanceDemo import CameraSource
    from Skeleton import PoseDetector
    from SkeletonSequence import OneEuroFilter
    from VideoReader import VideoReader

    target = scene_sample["target"]
    camera = CameraSource.__new__(CameraSource)   # what __init__ does, with a file for the camera
    camera.reader, camera.target, camera.scene = VideoReader(scene_sample["source"]), target, Scene(target)
    camera.fps, camera.detector, camera.filter = 25.0, PoseDetector(static_image_mode=False), OneEuroFilter()
    camera.history = deque(maxlen=CameraSource.HISTORY)
    width, height = target.frame_size
    nearest, poses = GenNearest(target), 0
    for i, image, display, ske, box in camera.frames():
        if ske is not None:
            poses += 1
            assert box[2] == camera.scene.side
            centre = np.array(box[:2]) + box[2] / 2
            assert -box[2] / 2 <= centre[0] <= width + box[2] / 2 and -box[2] / 2 <= centre[1] <= height + box[2] / 2
            frame = camera.scene.paste(*nearest.generate_layers(ske, box)[:2], box)
            assert frame.shape == target.plate.shape
        if i >= 20:
            break
    camera.reader.release()
    assert poses >= 15

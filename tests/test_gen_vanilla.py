"""GenVanilla: the networks, the dataset and its augmentation, training, the model file.

Small and fast on a CPU: `small_vs` (conftest.py), 8 crops of the synthetic sample's target
in tmp_path (the models are written there), 64 px, narrow networks, fixed seeds.
"""
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from DanceUtils import DanceError
from GenVanilla import (GenNNSke26ToImage, GenNNSkeImToImage, GenVanillaNN, SkeToImageTransform,
                        VideoSkeletonDataset, image_to_tensor, main)
from Skeleton import REDUCED_INDICES, Skeleton
from VideoSkeleton import VideoSkeleton

SIZE = 64      # image size of the tests
NGF = 8        # narrow networks: fast on a CPU


# ---------------------------------------------------------------------- networks
@pytest.mark.parametrize("size", [64, 128])
@pytest.mark.parametrize("opt", [1, 2])
def test_network_output_shape_and_range(opt, size, seed):
    seed()
    if opt == 1:
        net, x = GenNNSke26ToImage(size, ngf=NGF), torch.rand(2, 26)
    else:
        net, x = GenNNSkeImToImage(size, ngf=NGF), torch.rand(2, 3, size, size) * 2 - 1
    y = net(x)
    assert y.shape == (2, 3, size, size)
    assert y.min() >= -1 and y.max() <= 1
    assert y.std() > 0


def test_unet_depth_follows_the_size():
    assert len(GenNNSkeImToImage(64, ngf=4).downs) == 6      # 64 -> 1
    assert len(GenNNSkeImToImage(256, ngf=4).downs) == 8     # 256 -> 1, as pix2pix's unet_256
    with pytest.raises(DanceError, match="power of two"):
        GenNNSkeImToImage(100, ngf=4)


def test_stick_figure_transform_black_background_rgb():
    ske = Skeleton.from_reduced(np.tile([0.5, 0.5], 13))
    ske.landmarks[REDUCED_INDICES[3], :2] = (0.3, 0.5)   # left elbow
    ske.landmarks[REDUCED_INDICES[5], :2] = (0.1, 0.5)   # left wrist: the left forearm is red in BGR (0, 0, 255)
    out = SkeToImageTransform(SIZE)(ske)
    assert out.shape == (3, SIZE, SIZE) and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1
    assert out[:, 0, 0].tolist() == [-1, -1, -1]            # black background
    red = out[:, 32, 12]                                     # on the forearm, (x, y) = (12, 32) px
    assert red[0] > 0.9 and red[1] < -0.9 and red[2] < -0.9  # RGB order, like the targets
    bgr_red = np.zeros((2, 2, 3), np.uint8)
    bgr_red[..., 2] = 255
    assert image_to_tensor(bgr_red)[:, 0, 0].tolist() == [1, -1, -1]


# ---------------------------------------------------------------------- dataset
def test_dataset_preloads_targets_in_range(small_vs):
    ds = VideoSkeletonDataset(small_vs, ske_reduced=True, optSkeOrImage=2, image_size=SIZE)
    assert ds.images.dtype == torch.uint8 and ds.images.shape == (len(small_vs), SIZE, SIZE, 3)
    source, target = ds[3]
    assert source.shape == target.shape == (3, SIZE, SIZE)
    assert -1 <= target.min() and target.max() <= 1 and target.std() > 0.1
    ds1 = VideoSkeletonDataset(small_vs, optSkeOrImage=1, image_size=SIZE)
    assert torch.allclose(ds1[3][0], torch.from_numpy(small_vs.ske[3].reduce()))
    # transforms of ones own
    ds2 = VideoSkeletonDataset(small_vs, True, source_transform=lambda ske: torch.zeros(1),
                               target_transform=lambda im: im.float(), image_size=SIZE)
    assert ds2[0][0].shape == (1,) and ds2[0][1].max() > 1


def make_dot_dataset(directory, wrist=(20, 44)):
    """One black 64 px image with a bright 3x3 dot at the left wrist, whose joints are all known."""
    os.makedirs(directory / "images")
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    x, y = wrist
    image[y - 1:y + 2, x - 1:x + 2] = 255
    cv2.imwrite(str(directory / "images" / "image0.png"), image)   # png: lossless
    landmarks = np.full((1, 33, 3), 0.5, np.float32)
    landmarks[0, :, 0] = np.linspace(0.2, 0.8, 33)
    landmarks[0, REDUCED_INDICES[5], :2] = (x / SIZE, y / SIZE)   # the left wrist, on the dot
    np.savez(directory / "landmarks.npz", landmarks=landmarks, image=np.array(["image0.png"]), frame=np.array([0]))
    return VideoSkeleton(str(directory))


def test_augmentation_moves_image_and_skeleton_together(tmp_path, seed):
    vs = make_dot_dataset(tmp_path / "dot")
    vectors = VideoSkeletonDataset(vs, optSkeOrImage=1, image_size=SIZE, augment=True)
    figures = VideoSkeletonDataset(vs, optSkeOrImage=2, image_size=SIZE, augment=True)
    moved = []
    for s in range(12):
        seed(s)
        source, target = vectors[0]
        weight = (target.mean(0) + 1) / 2                          # brightness in 0..1
        ys, xs = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
        dot = torch.stack([(weight * xs).sum(), (weight * ys).sum()]) / weight.sum()
        joint = source[10:12] * SIZE                               # reduced joint 5: the left wrist
        assert torch.dist(dot, joint) < 0.3, f"seed {s}: dot at {dot.tolist()}, joint at {joint.tolist()}"
        moved.append(float(torch.dist(joint, torch.tensor([20.0, 44.0]))))
        # option 2 draws its stick figure from the same transformed skeleton
        seed(s)
        figure, target2 = figures[0]
        assert torch.equal(target2, target)
        assert torch.equal(figure, SkeToImageTransform(SIZE)(Skeleton.from_reduced(source.numpy())))
    assert max(moved) > 0.5                                        # the augmentation did move things
    assert max(moved) < 0.15 * SIZE                                # ... by a few percent only
    source, target = vectors.get(0, augment=False)
    assert torch.allclose(source[10:12] * SIZE, torch.tensor([20.0, 44.0]))


# ---------------------------------------------------------------------- training
@pytest.mark.parametrize("opt", [1, 2])
def test_short_overfit_halves_the_l1_loss(small_vs, opt, seed):
    seed()
    gen = GenVanillaNN(small_vs, optSkeOrImage=opt, image_size=SIZE, device="cpu", ngf=NGF, augment=False)
    history = gen.train(n_epochs=16, batch_size=len(small_vs), lr=2e-3, progress=False)
    assert len(history) == 16
    assert history[-1]["l1"] <= 0.5 * history[0]["l1"], [round(h["l1"], 3) for h in history]
    for path in (gen.filename, gen.checkpoint_file, gen.loss_file, gen.samples_file):
        assert os.path.isfile(path), path
    assert Path(gen.filename).parent == Path(small_vs.directory) / "models"
    assert Path(gen.filename).name == f"{'vanilla_ske' if opt == 1 else 'vanilla_image'}_{SIZE}.pt"
    grid = cv2.imread(gen.samples_file)
    assert grid.shape == (4 * 128, 3 * 128, 3)    # 4 items x (figure | generated | real), enlarged to 128 px


def test_resume_continues_and_restart_starts_again(small_vs, seed):
    seed()
    kwargs = dict(optSkeOrImage=2, image_size=SIZE, device="cpu", ngf=NGF)
    assert len(GenVanillaNN(small_vs, **kwargs).train(1, batch_size=4, progress=False)) == 1
    gen = GenVanillaNN(small_vs, **kwargs)
    history = gen.train(2, batch_size=4, progress=False)   # epochs in all: one more after the checkpoint's
    assert len(history) == 2 and gen.epochs_done == 2
    assert torch.load(gen.filename, weights_only=True)["settings"]["epochs"] == 2
    again = GenVanillaNN(small_vs, **kwargs)
    os.remove(again.filename)                              # the same command again: nothing to train,
    assert len(again.train(2, batch_size=4, progress=False)) == 2 and again.epochs_done == 2
    assert torch.load(again.filename, weights_only=True)["settings"]["epochs"] == 2   # the model is rewritten
    assert len(GenVanillaNN(small_vs, **kwargs).train(1, batch_size=4, progress=False, restart=True)) == 1
    with pytest.raises(DanceError, match="restart"):   # a checkpoint of another width is refused
        GenVanillaNN(small_vs, optSkeOrImage=2, image_size=SIZE, device="cpu", ngf=NGF * 2).train(1, progress=False)


def test_a_time_budget_stops_before_an_epoch_that_would_pass_it(small_vs, monkeypatch, seed):
    import DanceTrain

    clock = iter(range(0, 10_000, 5))                  # each epoch "lasts" 5 seconds
    monkeypatch.setattr(DanceTrain.time, "perf_counter", lambda: next(clock))
    seed()
    gen = GenVanillaNN(small_vs, optSkeOrImage=1, image_size=SIZE, device="cpu", ngf=NGF)
    gen.train(10, batch_size=4, progress=False, max_seconds=12)
    assert (gen.epochs_done, gen.train_seconds) == (2, 10)   # a 3rd epoch would end at 15 s > 12
    gen.train(10, batch_size=4, progress=False, max_seconds=1)
    assert gen.epochs_done == 3                                 # a budget already spent: still one epoch


def test_the_learning_rate_falls_over_the_end_of_a_run(small_vs, monkeypatch, seed):
    import DanceTrain
    from DanceTrain import learning_rate_factor

    assert [learning_rate_factor(d, 0.2) for d in (0.0, 0.8, 0.9, 1.0)] == pytest.approx([1.0, 1.0, 0.5, 0.0])
    assert learning_rate_factor(0.99, 0.0) == 1.0
    seed()
    gen = GenVanillaNN(small_vs, optSkeOrImage=1, image_size=SIZE, device="cpu", ngf=NGF)
    gen.train(5, batch_size=4, progress=False, lr=1e-3)    # the 5th epoch is 90 % through the run, half way
    assert gen.optG.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.5)
    clock = iter(range(0, 10_000, 5))                      # with a budget, time says how far the run is
    monkeypatch.setattr(DanceTrain.time, "perf_counter", lambda: next(clock))
    gen.train(100, batch_size=4, progress=False, lr=1e-3, restart=True, max_seconds=20)
    assert gen.epochs_done == 4                            # the 4th epoch: from 15 to 20 s, half way 87.5 %
    assert gen.optG.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.625)
    monkeypatch.setattr(DanceTrain, "LR_DECAY", 0.0)
    gen.train(gen.epochs_done + 2, batch_size=4, progress=False, lr=1e-3)   # 2 more epochs
    assert gen.optG.param_groups[0]["lr"] == 1e-3


def test_the_weight_average_follows_the_weights_and_is_what_generates_and_resumes(small_vs, seed):
    import DanceTrain

    net, average = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    net.weight.data.fill_(1.0)
    average.weight.data.zero_()
    DanceTrain.update_average(average, net, steps=10_000, decay=0.9)      # a step of (1 - 0.9) of the way
    assert torch.allclose(average.weight, torch.full((2, 3), 0.1))
    average.weight.data.zero_()
    DanceTrain.update_average(average, net, steps=0, decay=0.9)           # early: forgets faster (1/10 kept)
    assert torch.allclose(average.weight, torch.full((2, 3), 0.9))

    seed()
    kwargs = dict(optSkeOrImage=2, image_size=SIZE, device="cpu", ngf=NGF)
    gen = GenVanillaNN(small_vs, **kwargs)
    gen.train(2, batch_size=4, progress=False, lr=1e-3)
    assert gen.average_steps == 2 * 2                                      # 8 items, batches of 4, 2 epochs
    last, mean = gen.netG.state_dict(), gen.netG_average.state_dict()
    assert any(not torch.equal(last[k], mean[k]) for k in last)           # the average is not the last weights
    saved = torch.load(gen.filename, weights_only=True)["state_dict"]
    assert all(torch.equal(saved[k], mean[k]) for k in mean)              # the model file holds the average
    loaded = GenVanillaNN(small_vs, loadFromFile=True, **kwargs)
    assert np.array_equal(loaded.generate(small_vs.ske[3]), gen.generate(small_vs.ske[3]))
    resumed = GenVanillaNN(small_vs, **kwargs)
    resumed.make_optimizers()
    resumed.load_training_state(gen.checkpoint_file, torch.load(gen.checkpoint_file, weights_only=True)["state"])
    assert resumed.average_steps == 4
    assert all(torch.equal(resumed.netG_average.state_dict()[k], mean[k]) for k in mean)


# ---------------------------------------------------------------------- model file
@pytest.mark.parametrize("opt", [1, 2])
def test_save_then_load_gives_the_same_images(small_vs, opt, seed):
    seed()
    gen = GenVanillaNN(small_vs, optSkeOrImage=opt, image_size=SIZE, device="cpu", ngf=NGF)
    gen.save()
    data = torch.load(gen.filename, weights_only=True)
    assert data["settings"]["kind"] == gen.name and data["settings"]["image_size"] == SIZE
    assert data["settings"]["opt"] == opt and data["settings"]["version"] == 1
    loaded = GenVanillaNN(small_vs, loadFromFile=True, optSkeOrImage=opt, image_size=SIZE, device="cpu")
    for i in (0, 5):
        image = gen.generate(small_vs.ske[i])
        assert image.dtype == np.uint8 and image.shape == (SIZE, SIZE, 3)
        assert np.array_equal(image, loaded.generate(small_vs.ske[i]))


def test_bad_model_files_raise_dance_errors_naming_the_file(small_vs, seed):
    seed()
    def load(opt=2, size=SIZE):
        return GenVanillaNN(small_vs, loadFromFile=True, optSkeOrImage=opt, image_size=size, device="cpu")

    gen = GenVanillaNN(small_vs, optSkeOrImage=2, image_size=SIZE, device="cpu", ngf=NGF)
    path = Path(gen.filename)
    with pytest.raises(DanceError, match="no trained model") as missing:
        load()
    assert str(path) in str(missing.value) and "GenVanilla.py" in str(missing.value)

    gen.save()
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])                       # truncated
    with pytest.raises(DanceError, match="truncated, corrupted") as err:
        load()
    assert str(path) in str(err.value)
    path.write_bytes(np.random.default_rng(0).bytes(4096))          # random bytes
    with pytest.raises(DanceError, match="truncated, corrupted") as err:
        load()
    assert str(path) in str(err.value)

    path.write_bytes(good)                                          # a 64 px model under the 128 px name
    other_size = path.with_name(f"vanilla_image_{2 * SIZE}.pt")
    shutil.copy(path, other_size)
    with pytest.raises(DanceError, match="64 px") as err:
        load(size=2 * SIZE)
    assert str(other_size) in str(err.value)

    other_kind = path.with_name(f"vanilla_ske_{SIZE}.pt")           # an option-2 model under option 1's name
    shutil.copy(path, other_kind)
    with pytest.raises(DanceError, match="vanilla_image") as err:
        load(opt=1)
    assert str(other_kind) in str(err.value)


# ---------------------------------------------------------------------- command line
def test_command_line_trains_a_small_model(small_vs, capsys):
    assert main(["--data", small_vs.directory, "--opt", "1", "--epochs", "1", "--size", str(SIZE),
                 "--ngf", str(NGF), "--batch", "4", "--device", "cpu"]) == 0
    assert os.path.isfile(os.path.join(small_vs.directory, "models", f"vanilla_ske_{SIZE}.pt"))
    assert "vanilla_ske: 1 epochs" in capsys.readouterr().out


def test_command_line_trains_for_a_time_budget_and_resumes_within_it(small_vs, capsys):
    from ModelFile import read_torch_file
    args = ["--data", small_vs.directory, "--opt", "1", "--size", str(SIZE), "--ngf", str(NGF), "--batch", "4",
            "--device", "cpu"]
    model = os.path.join(small_vs.directory, "models", f"vanilla_ske_{SIZE}.pt")
    assert main(args + ["--minutes", "0.05"]) == 0           # a budget of 3 s, epochs of a few ms each
    out = capsys.readouterr().out
    assert "epoch 1/100000" in out, out                       # the budget, not EPOCHS, ends the run
    first = read_torch_file(model)["settings"]
    # The run stops before an epoch as long as the last would pass the budget: near it, not past it by much.
    assert 1.5 < first["train_seconds"] < 3 + 1.5, first
    # The same command again: the checkpoint's seconds count, so it only finishes what is left.
    assert main(args + ["--minutes", "0.05"]) == 0
    again = read_torch_file(model)["settings"]
    assert again["epochs"] > first["epochs"]
    assert again["train_seconds"] < 3 + 1.5, again


@pytest.mark.parametrize("minutes", ["0", "-1", "nan", "inf"])
def test_command_line_refuses_a_budget_that_is_no_time(small_vs, minutes, run_cli, one_error):
    code, out, err = run_cli("GenVanilla.py", "--data", small_vs.directory, f"--minutes={minutes}", timeout=120)
    one_error(code, err, f"--minutes {float(minutes):g}", "finite number above 0")


def test_missing_default_dataset_explains_how_to_make_it(tmp_path, run_cli, one_error):
    code, out, err = run_cli("GenVanilla.py", "--epochs", "1", cwd=tmp_path, timeout=120)
    assert code == 2
    one_error(code, err, "sample_target: no such dataset", "python VideoSkeleton.py")


# ---------------------------------------------------------------------- mixed precision
def test_cpu_mixed_precision_follows_the_processor_and_can_be_turned_off(monkeypatch):
    """bf16 autocast on a CPU that has native bf16 (it computes the same network within bf16's precision);
    float32 where it has not, or when DANCE_CPU_BF16=0."""
    from DanceTrain import autocast, bf16_supported

    cpu = torch.device("cpu")
    net = GenNNSkeImToImage(SIZE, NGF).eval()
    figure = torch.rand(1, 3, SIZE, SIZE) * 2 - 1
    with torch.no_grad():
        exact = net(figure)
        bf16_supported.cache_clear()
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        with autocast(cpu):
            mixed = net(figure)
        assert (mixed.dtype == torch.bfloat16) == native
        assert (mixed.float() - exact).abs().mean() < 0.02
        with autocast(cpu, training=False):       # one frame at a time: float32 is faster on a CPU
            assert net(figure).dtype == torch.float32
        monkeypatch.setenv("DANCE_CPU_BF16", "0")
        bf16_supported.cache_clear()
        try:
            with autocast(cpu):
                assert net(figure).dtype == torch.float32
        finally:
            bf16_supported.cache_clear()   # the next tests see the real environment again

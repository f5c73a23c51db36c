"""The GAN's sharp person: a local enhancer draws it at 2x or 4x the U-Net's size (pix2pixHD's coarse to
fine), trained beside the U-Net on patches of the sharp crops; and the U-Net's two options (residual
blocks, self-attention at its middle). On the synthetic sample (`sample_dataset`: 64 px crops, sharp
crops at the crop's own side, a still camera with a background plate)."""
import numpy as np
import pytest
import torch

import DanceGenerators
from DanceDemo import layers_of
from DanceNetworks import GenNNSkeImToImage, LocalEnhancer, build_generator, check_network_settings, enlarge
from GenGAN import GenGAN

TRAIN_ITEMS = np.arange(0, 100, 10)   # 10 frames spread over the sample's 100


@pytest.mark.parametrize("scale", [2, 4])
def test_the_enhancer_gives_the_size_asked_and_starts_as_the_enlarged_image(scale):
    torch.manual_seed(0)
    enhancer = LocalEnhancer(scale, in_channels=4 + 6, out_channels=4, ngf=8)
    small = torch.rand(2, 4, 32, 32) * 2 - 1
    coarse = enlarge(small, 32 * scale)
    output = enhancer(coarse, torch.rand(2, 6, 32 * scale, 32 * scale))
    assert output.shape == (2, 4, 32 * scale, 32 * scale)
    torch.testing.assert_close(output, coarse)          # an untrained enhancer adds nothing yet
    with torch.no_grad():
        enhancer.tail[0].weight.normal_(0, 0.1)
    assert not torch.allclose(enhancer(coarse, torch.rand(2, 6, 32 * scale, 32 * scale)), coarse)


def test_the_unet_options_keep_its_size_and_start_as_the_unet():
    torch.manual_seed(0)
    plain = GenNNSkeImToImage(64, ngf=8, in_channels=6, out_channels=4)
    for options in ({"middle_blocks": 2}, {"attention": True}, {"middle_blocks": 1, "attention": True}):
        torch.manual_seed(0)
        net = GenNNSkeImToImage(64, ngf=8, in_channels=6, out_channels=4, **options)
        assert net.middle_level == 2                     # 64 -> 32 -> 16 -> 8: the 8x8 map
        assert len(net.middle) == options.get("middle_blocks", 0) + options.get("attention", False)
        x = torch.rand(2, 6, 64, 64) * 2 - 1
        assert net(x).shape == (2, 4, 64, 64)
        if not options.get("middle_blocks"):   # attention alone starts as the identity (gamma = 0)
            net.load_state_dict(plain.state_dict(), strict=False)
            plain.eval(), net.eval()
            torch.testing.assert_close(net(x), plain(x))
    settings = {"opt": 2, "image_size": 64, "ngf": 8, "plate": True, "upsample": "resize", "middle_blocks": 2,
                "attention": True}
    assert len(build_generator(settings).middle) == 3
    for wrong in ({"enhance_size": 100}, {"enhance_size": 512}, {"middle_blocks": -1}, {"attention": "yes"}):
        with pytest.raises(ValueError):
            check_network_settings(dict(settings, **wrong))


@pytest.fixture(scope="module")
def enhanced_gan(sample_dataset, tmp_path_factory):
    """A GAN with its enhancer (64 px -> 128 px) trained 2 epochs on 10 frames of the sample."""
    vs = sample_dataset
    assert vs.high_size >= 2 * vs.image_size
    models = tmp_path_factory.mktemp("enhanced_models")
    torch.manual_seed(0)
    gen = GenGAN(vs, model_dir=str(models), device="cpu", ngf=8, ndf=8, enhance=256)
    assert gen.sharp_size == 128                         # 4x would need sharp crops of 256 px: 2x
    history = gen.train(2, indices=TRAIN_ITEMS, batch_size=4, progress=False)
    return gen, history, models


def test_the_gan_trains_its_enhancer_beside_the_unet_and_saves_it(enhanced_gan, sample_dataset):
    gen, history, models = enhanced_gan
    assert {"d_high", "g_gan_high", "l1_high", "fm_high", "mask_high"} <= set(history[-1])
    assert all(np.isfinite(list(epoch.values())).all() for epoch in history)
    assert gen.netE.tail[0].weight.abs().sum() > 0       # it learnt (it starts at 0)
    data = torch.load(models / "gan_64.pt", weights_only=True)
    assert data["settings"]["enhance_size"] == 128 and "enhancer" in data
    assert data["settings"]["enhancer_l1"] > 0
    # The checkpoint resumes both networks: one more epoch continues the run.
    more = gen.train(3, indices=TRAIN_ITEMS, batch_size=4, progress=False)
    assert len(more) == 3 and gen.epochs_done == 3


def test_the_loaded_gan_draws_its_sharp_person_where_the_scene_asks(enhanced_gan, sample_dataset):
    _, _, models = enhanced_gan
    vs = sample_dataset
    gen = DanceGenerators.make("gan", vs, model_dir=str(models), device="cpu")
    assert gen.sharp_size == 128
    k = 55
    box, view = vs.crop_boxes[k], vs.view(k)
    person, alpha, background = gen.generate_layers(vs.ske[k], box, view, size=128)
    assert person.shape == background.shape == (128, 128, 3) and alpha.shape == (128, 128)
    assert 0 <= alpha.min() and alpha.max() <= 1
    small, small_alpha, _ = gen.generate_layers(vs.ske[k], box, view)
    assert small.shape == (64, 64, 3)                     # the default size stays the network's
    enlarged = enlarge(torch.from_numpy(small).permute(2, 0, 1)[None].float(), 128)[0].permute(1, 2, 0).numpy()
    assert np.abs(person.astype(float) - enlarged).mean() > 0.5   # the enhancer drew over the enlarged image
    assert gen.generate(vs.ske[k], box, view, size=96).shape == (96, 96, 3)
    # The scene asks for the box's side, up to the enhancer's.
    assert layers_of(gen, vs.ske[k], (0, 0, 300, 300))[0].shape == (128, 128, 3)
    assert layers_of(gen, vs.ske[k], (0, 0, 100, 100))[0].shape == (100, 100, 3)


def test_an_older_model_without_enhancer_still_plays(enhanced_gan, sample_dataset_copy, sample_videos, tmp_path,
                                                    run_demo, read_frames):
    """A model file written before the enhancer (no enhance_size, no U-Net options) loads, draws at its size,
    and the demo's scene plays it."""
    from VideoSkeleton import VideoSkeleton
    gen, _, _ = enhanced_gan
    vs = VideoSkeleton(str(sample_dataset_copy))
    old = GenGAN(vs, device="cpu", ngf=8, ndf=8, enhance=0)
    old.netG.load_state_dict(gen.netG.state_dict())
    settings = old.settings()
    for key in ("enhance_size", "middle_blocks", "attention"):
        del settings[key]
    state = {k: v.detach().clone() for k, v in old.netG.state_dict().items()}
    (sample_dataset_copy / "models").mkdir()
    torch.save({"state_dict": state, "settings": settings}, sample_dataset_copy / "models" / "gan_64.pt")
    loaded = DanceGenerators.make("gan", vs, device="cpu")
    assert loaded.netE is None and loaded.sharp_size == 0
    person, alpha, _ = layers_of(loaded, vs.ske[17], (0, 0, 300, 300))
    assert person.shape == (64, 64, 3) and alpha.shape == (64, 64)   # the scene enlarges it, as before
    video = tmp_path / "old_gan.mp4"
    proc = run_demo(tmp_path, "--source", sample_videos.source, "--target", sample_dataset_copy, "--gen", "gan",
                    "--view", "scene", "--output", video, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(read_frames(video)) == sample_videos.frames


def test_eval_compares_the_unet_options_with_the_default(sample_dataset, tmp_path, run_cli, one_error):
    import DanceEval
    report = DanceEval.evaluate(sample_dataset.directory, str(tmp_path / "eval"), gens=["gan"], quick=True,
                                progress=False, compare=["blocks", "attention"])
    assert set(report["generators"]) == {"gan", "gan_blocks", "gan_attention"}
    for variant, key, value in (("blocks", "middle_blocks", 2), ("attention", "attention", True)):
        data = torch.load(tmp_path / "eval" / f"models_{variant}" / "gan_64.pt", weights_only=True)
        assert data["settings"][key] == value
        assert "at_paste" in report["generators"][f"gan_{variant}"]
    code, _, err = run_cli("DanceEval.py", "--data", sample_dataset.directory, "--quick", "--gens", "nearest",
                           "--compare", "bigger", "--out", tmp_path / "other")
    one_error(code, err, "--compare bigger", "noenhancer")

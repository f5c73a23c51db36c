"""GenGAN: the discriminator, the losses, one training step of each GAN loss, resume, the model file.

Small and fast on a CPU: `small_vs` (conftest.py), 8 crops of the synthetic sample's target in
tmp_path, 64 px, narrow networks, fixed seeds.
"""
import numpy as np
import pytest
import torch

from DanceUtils import DanceError
from GenGAN import (GAN_LOSSES, GenGAN, PatchDiscriminator, feature_matching_loss, gan_loss_d, gan_loss_g,
                    gradient_penalty)
from GenVanilla import GenNNSkeImToImage, GenVanillaNN, VideoSkeletonDataset

SIZE = 64      # image size of the tests
NGF = NDF = 8


def small_gan(vs, **kwargs):
    return GenGAN(vs, **dict(dict(image_size=SIZE, device="cpu", ngf=NGF, ndf=NDF), **kwargs))


def test_gan_reuses_the_vanilla_generator(small_vs):
    gen = small_gan(small_vs)
    assert isinstance(gen, GenVanillaNN) and isinstance(gen.netG, GenNNSkeImToImage)
    assert gen.filename.endswith(f"models/gan_{SIZE}.pt")


def test_patch_discriminator_shapes_and_spectral_norm():
    D = PatchDiscriminator(ndf=NDF).eval()   # eval: spectral norm's power iteration stops, outputs repeat
    figure, image = torch.rand(2, 3, SIZE, SIZE), torch.rand(2, 3, SIZE, SIZE)
    scores, features = D(figure, image, features=True)
    assert scores.shape == (2, 1, 6, 6)               # one score per patch
    assert len(features) == 4 and features[0].shape == (2, NDF, SIZE // 2, SIZE // 2)
    assert torch.equal(D(figure, image), scores)
    names = [name for name, _ in D.named_parameters()]
    assert sum("parametrizations.weight.original" in n for n in names) == 5   # every convolution


# ---------------------------------------------------------------------- the losses
def test_gan_losses_on_known_scores():
    ones, zeros = torch.ones(4, 1, 3, 3), torch.zeros(4, 1, 3, 3)
    assert gan_loss_d(ones, zeros, "lsgan") == 0                  # a perfect judge
    assert gan_loss_d(zeros, ones, "lsgan") == 1                  # 0.5 * (1 + 1)
    assert gan_loss_g(ones, "lsgan") == 0
    assert gan_loss_d(2 * ones, -2 * ones, "hinge") == 0          # beyond the margins: nothing to learn
    assert gan_loss_d(zeros, zeros, "hinge") == 2
    assert gan_loss_g(3 * ones, "hinge") == -3
    assert gan_loss_d(3 * ones, ones, "wgan-gp") == -2            # D(fake) - D(real)
    assert gan_loss_g(ones, "wgan-gp") == -1
    with pytest.raises(ValueError):
        gan_loss_d(ones, zeros, "vanilla")


def test_gradient_penalty_of_a_linear_critic_is_known():
    # D(x) = sum(w * x): its gradient with respect to x is w everywhere, so the penalty is (||w|| - 1)^2.
    torch.manual_seed(0)
    w = torch.randn(1, 3, 8, 8, dtype=torch.float64)

    def D(condition, x):
        return (w * x).sum(dim=(1, 2, 3))

    real = torch.randn(5, 3, 8, 8, dtype=torch.float64)
    fake = torch.randn(5, 3, 8, 8, dtype=torch.float64)
    cond = torch.zeros(5, 3, 8, 8, dtype=torch.float64)
    expected = (w.norm() - 1) ** 2
    assert torch.allclose(gradient_penalty(D, real, fake, cond), expected, atol=1e-12)
    w = w / w.norm()                                              # a 1-Lipschitz critic: no penalty
    assert gradient_penalty(D, real, fake, cond).abs() < 1e-12


def test_feature_matching_loss():
    real = [torch.zeros(2, 4, 8, 8), torch.zeros(2, 8, 4, 4)]
    assert feature_matching_loss(real, real) == 0
    fake = [torch.ones(2, 4, 8, 8), torch.full((2, 8, 4, 4), 3.0)]
    assert feature_matching_loss(fake, real) == 2                 # mean of 1 and 3


# ---------------------------------------------------------------------- training
def changed(before, module):
    return any(not torch.equal(before[name], p) for name, p in module.state_dict().items() if name in before)


@pytest.mark.parametrize("gan_loss", GAN_LOSSES)
def test_one_training_step_changes_both_networks(small_vs, gan_loss, seed):
    seed()
    gen = small_gan(small_vs, gan_loss=gan_loss)
    gen.make_optimizers(2e-4)
    gen.netG.train()
    dataset = VideoSkeletonDataset(small_vs, optSkeOrImage=2, image_size=SIZE, augment=True)
    source, target = (torch.stack(t) for t in zip(*(dataset[i] for i in range(4))))
    G_before = {k: v.clone() for k, v in gen.netG.state_dict().items()}
    D_before = {k: v.clone() for k, v in gen.netD.named_parameters()}
    losses = gen.train_step(source, target)
    assert {"d", "g_gan", "l1", "fm"} <= set(losses) and ("gp" in losses) == (gan_loss == "wgan-gp")
    assert all(torch.isfinite(v) for v in losses.values())
    assert changed(G_before, gen.netG)
    assert any(not torch.equal(D_before[k], p) for k, p in gen.netD.named_parameters())
    assert all(p.requires_grad for p in gen.netD.parameters())     # D is trainable again after G's step


def test_resume_continues_from_the_checkpoint(small_vs, seed):
    seed()
    first = small_gan(small_vs)
    assert len(first.train(1, batch_size=len(small_vs) // 2, progress=False)) == 1
    gen = small_gan(small_vs)
    history = gen.train(2, batch_size=len(small_vs) // 2, progress=False)    # --epochs counts them all
    assert len(history) == 2 and gen.epochs_done == 2
    checkpoint = torch.load(gen.checkpoint_file, weights_only=True)
    assert {"netG", "netD", "optG", "optD"} <= set(checkpoint["state"])
    assert len(checkpoint["history"]) == 2
    data = torch.load(gen.filename, weights_only=True)
    assert data["settings"]["kind"] == "gan" and data["settings"]["epochs"] == 2
    assert set(data["state_dict"]) == set(gen.netG.state_dict())   # the model file: the generator only
    assert gen.netG_average is None and all(torch.equal(v, data["state_dict"][k])   # its last weights,
                                            for k, v in gen.netG.state_dict().items())  # not an average
    loaded = GenGAN(small_vs, loadFromFile=True, image_size=SIZE, device="cpu")
    for i in (0, 7):
        assert np.array_equal(loaded.generate(small_vs.ske[i]), gen.generate(small_vs.ske[i]))
    with pytest.raises(DanceError, match="restart"):              # another discriminator: refused
        small_gan(small_vs, ndf=2 * NDF).train(1, progress=False)


def test_model_file_errors(small_vs):
    with pytest.raises(DanceError, match="GenGAN.py") as err:
        GenGAN(small_vs, loadFromFile=True, image_size=SIZE, device="cpu")
    assert f"gan_{SIZE}.pt" in str(err.value)
    vanilla = GenVanillaNN(small_vs, optSkeOrImage=2, image_size=SIZE, device="cpu", ngf=NGF)
    vanilla.save(vanilla.filename.replace("vanilla_image", "gan"))   # a vanilla model under the GAN's name
    with pytest.raises(DanceError, match="'vanilla_image' model, not a 'gan' one"):
        GenGAN(small_vs, loadFromFile=True, image_size=SIZE, device="cpu")
    with pytest.raises(DanceError, match="--gan-loss"):
        small_gan(small_vs, gan_loss="vanilla")


def test_loss_weights_steer_the_generator_and_are_recorded(small_vs, seed):
    """The same batch and start: the L1 weight changes G's step; the weights go into the model file."""
    dataset = VideoSkeletonDataset(small_vs, optSkeOrImage=2, image_size=SIZE)
    source, target = (torch.stack(t) for t in zip(*(dataset[i] for i in range(4))))
    stepped_without_l1 = None
    for weight in (0.0, 100.0):
        seed()
        gen = small_gan(small_vs, lambda_l1=weight, lambda_fm=0.0, dropout=0.0)
        gen.make_optimizers(2e-4)
        losses = gen.train_step(source, target)
        assert losses["l1"] > 0
        if stepped_without_l1 is None:
            stepped_without_l1 = {k: v.clone() for k, v in gen.netG.state_dict().items()}
    assert changed(stepped_without_l1, gen.netG)
    gen.save()
    settings = torch.load(gen.filename, weights_only=True)["settings"]
    assert (settings["lambda_l1"], settings["lambda_fm"]) == (100.0, 0.0)
    with pytest.raises(DanceError, match="--lambda-l1 -1"):
        small_gan(small_vs, lambda_l1=-1)


def test_cli_refuses_a_negative_loss_weight(run_cli, one_error, tmp_path):
    code, out, err = run_cli("GenGAN.py", "--data", tmp_path / "missing", "--lambda-fm", "-2")
    one_error(code, err, "--lambda-fm -2")


# ---------------------------------------------------------------------- the person-weighted L1
def test_person_mask_covers_the_figure_and_not_the_corners(small_vs):
    from GenGAN import person_mask

    figures = torch.stack([VideoSkeletonDataset(small_vs, optSkeOrImage=2, image_size=SIZE)[i][0] for i in (0, 4)])
    mask = person_mask(figures, radius=6)
    assert mask.shape == (2, 1, SIZE, SIZE) and 0 <= mask.min() and mask.max() <= 1
    strokes = (figures > -0.9).any(dim=1, keepdim=True)
    assert (mask[strokes] > 0.99).all()            # on the figure: the full weight
    assert (mask[..., :3, :3] == 0).all()          # a corner, far from the person: none
    empty = person_mask(-torch.ones(1, 3, SIZE, SIZE), radius=6)
    assert (empty == 0).all()


@pytest.mark.parametrize("pool", [torch.nn.functional.max_pool2d, torch.nn.functional.avg_pool2d])
def test_a_square_pool_by_rows_then_columns_is_the_square_pool(pool):
    from GenGAN import square_pool

    torch.manual_seed(0)
    x = torch.rand(2, 1, 40, 33)
    options = {} if pool is torch.nn.functional.max_pool2d else {"count_include_pad": False}
    expected = pool(x, 7, stride=1, padding=3, **options)
    assert torch.allclose(square_pool(pool, x, 3, **options), expected, atol=1e-6)


def test_person_weighted_l1_counts_the_background_less():
    from GenGAN import person_weighted_l1

    figures = -torch.ones(1, 3, SIZE, SIZE)
    figures[:, :, 20:44, 30:34] = 1.0               # a vertical stroke in the middle
    real = torch.zeros(1, 3, SIZE, SIZE)
    off_person, on_person = real.clone(), real.clone()
    off_person[..., :8, :8] = 1.0                   # wrong only in a corner
    on_person[..., 30:34, 30:34] = 1.0              # wrong only on the stroke
    assert person_weighted_l1(off_person, real, figures, 100.0, 0.0) == 0
    assert person_weighted_l1(on_person, real, figures, 100.0, 0.0) > 0
    # equal weights: pix2pix's plain L1, scaled
    assert torch.isclose(person_weighted_l1(off_person, real, figures, 100.0, 100.0),
                         100 * torch.nn.functional.l1_loss(off_person, real))
    low = person_weighted_l1(off_person, real, figures, 100.0, 10.0)
    assert torch.isclose(low, 10 * torch.nn.functional.l1_loss(off_person, real))


def test_the_background_weight_is_trained_recorded_and_checked(small_vs, seed):
    seed()
    gen = small_gan(small_vs, lambda_l1_background=5.0)
    history = gen.train(1, batch_size=len(small_vs) // 2, progress=False)
    assert all(np.isfinite(v) for v in history[-1].values())
    settings = torch.load(gen.filename, weights_only=True)["settings"]
    assert settings["lambda_l1_background"] == 5.0 and settings["lambda_l1"] == 100.0
    with pytest.raises(DanceError, match="--lambda-l1-background -1"):
        small_gan(small_vs, lambda_l1_background=-1)


def test_generation_keeps_the_dropout_with_the_same_noise_every_frame(small_vs, seed):
    seed()
    gen = small_gan(small_vs)                       # GenGAN's U-Net has dropout 0.5
    ske = small_vs.ske[2]
    torch.manual_seed(7)
    expected_next = torch.rand(3)
    torch.manual_seed(7)
    first = gen.generate(ske)
    assert torch.equal(torch.rand(3), expected_next)   # the caller's random numbers are left alone
    assert np.array_equal(gen.generate(ske), first)     # the same noise for every frame: no flicker
    gen.noise_at_generation = False
    assert not np.array_equal(gen.generate(ske), first)  # eval mode: the dropout is off
    assert not any(m.training for m in gen.netG.modules())

"""Image size 256 end to end, for users with a GPU: prepare, train, demo, evaluate.

On the project's synthetic sample (no third-party footage needed), with a few frames,
narrow networks and one epoch, so that a CPU runs it all in about a minute. The sample is
rendered here at DanceSample's default size (480 x 480), so that the target's frames are
larger than the crops (the run's shared sample is 240 x 240).
"""
import cv2
import numpy as np
import pytest

SIZE = 256


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, run_cli):
    """A 2 s sample at 480 x 480, and its target prepared at 256 px (one frame in 2) by `python VideoSkeleton.py`."""
    import DanceSample
    folder = tmp_path_factory.mktemp("size256")
    paths = DanceSample.make_sample(str(folder / "videos"), seconds=2.0)
    target = folder / "target256"
    code, out, err = run_cli("VideoSkeleton.py", paths["target_video"], "--mod-frame", 2, "--size", SIZE,
                             "--out", target)
    assert code == 0, err
    return {"source": paths["source_video"], "target": target}


def test_prepare_train_demo_and_evaluate_at_256(prepared, tmp_path, run_cli, run_demo):
    from VideoSkeleton import VideoSkeleton
    vs = VideoSkeleton(str(prepared["target"]))
    assert len(vs) >= 20 and vs.readImage(0).shape == (SIZE, SIZE, 3)
    inside = vs.landmarks[..., :2][vs.visibility > 0.5]     # visible landmarks lie inside the crop
    assert inside.min() >= -0.01 and inside.max() <= 1.01

    code, out, err = run_cli("GenGAN.py", "--data", prepared["target"], "--size", SIZE, "--epochs", 1,
                             "--ngf", 8, "--ndf", 8, "--batch", 4, "--device", "cpu")
    assert code == 0, err
    assert (prepared["target"] / "models" / f"gan_{SIZE}.pt").is_file()

    video = tmp_path / "demo256.mp4"
    proc = run_demo(tmp_path, "--source", prepared["source"], "--target", prepared["target"], "--gen", "gan",
                    "--size", SIZE, "--output", video, timeout=300)
    assert proc.returncode == 0, proc.stderr
    written, source = cv2.VideoCapture(str(video)), cv2.VideoCapture(prepared["source"])
    ok, frame = written.read()
    count = int(ok)
    while written.read()[0]:
        count += 1
    assert count == int(source.get(cv2.CAP_PROP_FRAME_COUNT))
    assert frame.shape[0] >= SIZE      # the panels are at least as tall as the generated image

    import DanceEval
    report = DanceEval.evaluate(str(prepared["target"]), str(tmp_path / "eval"), gens=["nearest", "gan"],
                                epochs=1, size=SIZE, progress=False)
    assert report["image_size"] == SIZE
    for name in ("nearest", "gan"):
        assert -1 <= report["generators"][name]["ssim"] <= 1
    grid = cv2.imread(str(tmp_path / "eval" / "grid.png"))
    assert grid is not None and grid.shape[0] >= SIZE
    assert np.isfinite(report["generators"]["gan"]["psnr"])

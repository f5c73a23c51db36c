"""The README's picture of `DanceDemo.py --view scene`, made from the project's own synthetic sample.

    python benchmarks/scene_picture.py [--out docs/scene.png]

Renders the sample (a target and a source dancer, still camera, DanceSample.py), prepares the
target (crops, masks, background plate), then draws three source frames through the nearest-
neighbour generator in the scene view: each row is the source with its skeleton | the target's
whole frame, the person pasted into the plate. No third-party footage is involved.

Also writes --sharp-out: for the middle frame, the person's box in the scene with the person pasted
from the dataset's 128 px crop (enlarged), then from its sharp crop (images_high/), side by side;
and --gan-out: the same box with the person of a GAN trained --gan-minutes on the sample, from its
128 px U-Net (enlarged), then from its local enhancer (256 px), side by side.
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import DanceSample  # noqa: E402
from DanceDemo import DanceDemo, layers_of, put_text  # noqa: E402
from DanceUtils import write_image  # noqa: E402
from VideoSkeleton import VideoSkeleton  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "scene.png"))
    parser.add_argument("--sharp-out", default=str(REPO / "docs" / "sharp_person.png"))
    parser.add_argument("--gan-out", default=str(REPO / "docs" / "sharp_gan.png"))
    parser.add_argument("--gan-minutes", type=float, default=10.0, help="the GAN's training (0: no --gan-out)")
    parser.add_argument("--frames", default="40,120,200", help="source frames to show")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="scene_picture_")
    paths = DanceSample.make_sample(os.path.join(work, "sample"), seconds=10.0)
    target = VideoSkeleton(paths["target_video"], modFrame=2, out_dir=os.path.join(work, "target"), progress=False)
    demo = DanceDemo(paths["source_video"], "nearest", target, progress=False, view="scene")
    wanted = {int(k) for k in args.frames.split(",")}
    shown = [(image, display, ske, box) for i, image, display, ske, box in demo.poses() if i in wanted]
    rows = [demo.panels(*pose) for pose in shown]
    picture = np.vstack(rows)
    picture = cv2.resize(picture, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
    write_image(args.out, picture)
    print(f"wrote {args.out}: {len(rows)} rows, {picture.shape[1]}x{picture.shape[0]} "
          f"(target plate fits by {target.settings.get('plate_error'):.2f} grey levels)")
    middle = shown[len(shown) // 2][2:]
    nearest = demo.generator("nearest")
    write_image(args.sharp_out, side_by_side(demo, nearest, *middle, ("128 px crop, enlarged",
                                                                       f"sharp crop ({nearest.sharp_size} px)")))
    print(f"wrote {args.sharp_out}")
    if args.gan_minutes > 0:
        from DanceTrain import UNTIL_BUDGET
        from GenGAN import GenGAN
        torch.manual_seed(0)
        gan = GenGAN(target, model_dir=os.path.join(work, "models"))
        gan.train(UNTIL_BUDGET, max_seconds=60 * args.gan_minutes)
        write_image(args.gan_out, side_by_side(demo, gan, *middle, (
            f"GAN, {gan.image_size} px, enlarged", f"GAN + enhancer, {gan.sharp_size} px")))
        print(f"wrote {args.gan_out}: the GAN trained {gan.epochs_done} epochs ({gan.train_seconds / 60:.1f} min)")


def side_by_side(demo, gen, ske, box, labels):
    """The scene around the person's box: gen's person at its network's size (enlarged by the paste) | its
    sharp person (the size the scene asks for: layers_of)."""
    x0, y0, side = (int(v) for v in box[:3])
    height, width = demo.scene.size[1], demo.scene.size[0]
    inside = np.s_[max(y0, 0):min(y0 + side, height), max(x0, 0):min(x0 + side, width)]
    panels = []
    for label, layers in zip(labels, (lambda: gen.generate_layers(ske, box), lambda: layers_of(gen, ske, box))):
        if hasattr(gen, "reset"):
            gen.reset()
        panel = np.ascontiguousarray(demo.scene.paste(*layers()[:2], box)[inside])
        put_text(panel, label, 24)
        panels.append(panel)
    return np.hstack(panels)


if __name__ == "__main__":
    main()

"""The README's picture of `DanceDemo.py --view scene`, made from the project's own synthetic sample.

    python benchmarks/scene_picture.py [--out docs/scene.png]

Renders the sample (a target and a source dancer, still camera, DanceSample.py), prepares the
target (crops, masks, background plate), then draws three source frames through the nearest-
neighbour generator in the scene view: each row is the source with its skeleton | the target's
whole frame, the person pasted into the plate. No third-party footage is involved.

Also writes --sharp-out: for the middle frame, the person's box in the scene with the person pasted
from the dataset's 128 px crop (enlarged), then from its sharp crop (images_high/), side by side.
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

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
    write_image(args.sharp_out, sharp_comparison(demo, *shown[len(shown) // 2][2:]))
    print(f"wrote {args.sharp_out}")


def sharp_comparison(demo, ske, box):
    """The scene around the person's box: pasted from the 128 px crop (enlarged) | from the sharp crop."""
    gen = demo.generator("nearest")
    x0, y0, side = (int(v) for v in box[:3])
    height, width = demo.scene.size[1], demo.scene.size[0]
    inside = np.s_[max(y0, 0):min(y0 + side, height), max(x0, 0):min(x0 + side, width)]
    panels = []
    for label, layers in (("128 px crop, enlarged", lambda: gen.generate_layers(ske, box)),
                          (f"sharp crop ({gen.sharp_size} px)", lambda: layers_of(gen, ske, box))):
        gen.reset()
        panel = np.ascontiguousarray(demo.scene.paste(*layers()[:2], box)[inside])
        put_text(panel, label, 24)
        panels.append(panel)
    return np.hstack(panels)


if __name__ == "__main__":
    main()

"""The README's picture of `DanceDemo.py --view scene`, made from the project's own synthetic sample.

    python benchmarks/scene_picture.py [--out docs/scene.png]

Renders the sample (a target and a source dancer, still camera, DanceSample.py), prepares the
target (crops, masks, background plate), then draws three source frames through the nearest-
neighbour generator in the scene view: each row is the source with its skeleton | the target's
whole frame, the person pasted into the plate. No third-party footage is involved.
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
from DanceDemo import DanceDemo  # noqa: E402
from DanceUtils import write_image  # noqa: E402
from VideoSkeleton import VideoSkeleton  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "scene.png"))
    parser.add_argument("--frames", default="40,120,200", help="source frames to show")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="scene_picture_")
    paths = DanceSample.make_sample(os.path.join(work, "sample"), seconds=10.0)
    target = VideoSkeleton(paths["target_video"], modFrame=2, out_dir=os.path.join(work, "target"), progress=False)
    demo = DanceDemo(paths["source_video"], "nearest", target, progress=False, view="scene")
    wanted = {int(k) for k in args.frames.split(",")}
    rows = [demo.panels(image, display, ske, box) for i, image, display, ske, box in demo.poses() if i in wanted]
    picture = np.vstack(rows)
    picture = cv2.resize(picture, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
    write_image(args.out, picture)
    print(f"wrote {args.out}: {len(rows)} rows, {picture.shape[1]}x{picture.shape[0]} "
          f"(target plate fits by {target.settings.get('plate_error'):.2f} grey levels)")


if __name__ == "__main__":
    main()

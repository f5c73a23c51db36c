"""DanceDemo end to end: source preparation time, frames per second of --output for each generator,
jitter before and after smoothing, and where the normalised source lands in the target's frame.

    python benchmarks/bench_demo.py [--source VIDEO] [--target DATASET] [--models DIR] [--view scene|crop]

--models: a folder of trained model files (<name>_<size>.pt) to use for the network generators,
e.g. DanceEval's data/eval/taichi1/models (the demo looks for them in <target>/models, so the
benchmark makes a temporary target whose models/ links there). Generators without a model are skipped.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import DanceDemo  # noqa: E402
import DanceGenerators  # noqa: E402
from Skeleton import reduced_joints  # noqa: E402
from SkeletonSequence import body_anchor, body_height, jitter, smooth_sequence  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
SOURCE = SHARED / "videos" / "lotayou_afrobeat_left_real_crop.mp4"
TARGET = SHARED / "taichi1"


def linked_target(target, models, folder):
    """A target dataset in `folder` made of links to `target`, with models/ linking to `models`."""
    link = Path(folder) / Path(target).name
    link.mkdir()
    for name in os.listdir(target):   # images, masks, landmarks.npz, background.png: all but the models
        if name != "models":
            os.symlink(Path(target).resolve() / name, link / name)
    if models:
        os.symlink(Path(models).resolve(), link / "models")
    return str(link)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(SOURCE))
    parser.add_argument("--target", default=str(TARGET))
    parser.add_argument("--models", default=str(REPO / "data" / "eval" / "taichi1" / "models"))
    parser.add_argument("--view", default="auto", help="scene | crop | auto (scene where the target has a plate)")
    parser.add_argument("--gens", default=",".join(DanceGenerators.NAMES), help="the generators to time")
    args = parser.parse_args()
    # Relative paths are the caller's: made absolute before leaving for the temporary folder.
    args.source, args.target, args.models = map(os.path.abspath, (args.source, args.target, args.models))
    os.chdir(tempfile.mkdtemp(prefix="bench_demo_"))
    DanceDemo.CACHE_DIR = os.path.join(os.getcwd(), "cache")   # a fresh source cache, measured once

    start = time.perf_counter()
    landmarks, found, info = DanceDemo.source_skeletons(args.source, progress=False)
    prepare = time.perf_counter() - start
    print(f"source skeletons of {len(found)} frames ({info['width']}x{info['height']}): {prepare:.1f} s once "
          f"({len(found) / prepare:.1f} frames/s), then cached")

    sigma = max(0.5, DanceDemo.SMOOTH_SIGMA_SECONDS * info["fps"])
    raw, smoothed = jitter(landmarks, found), jitter(smooth_sequence(landmarks, found, sigma), found)
    print(f"jitter (mean frame-to-frame acceleration of the 13 joints, frame fractions): raw {raw:.5f}, "
          f"smoothed {smoothed:.5f} ({100 * (1 - smoothed / raw):.0f} % less)")

    target = linked_target(args.target, args.models if os.path.isdir(args.models) else None, os.getcwd())
    print("\n| generator | view | frame written | sharp person (px) | frames | seconds | frames/s |\n"
          "|---|---|---|---|---|---|---|")
    for name in args.gens.split(","):
        try:
            demo = DanceDemo.DanceDemo(args.source, name, target, progress=False, view=args.view)
        except Exception as err:  # an untrained generator is skipped, and said so
            print(f"| {name} | skipped: {str(err)[:80]} | | | | | |")
            continue
        sharp = getattr(demo.generator(name), "sharp_size", 0) if demo.view == "scene" else 0   # up to the box's side
        start = time.perf_counter()
        count = demo.write_video(f"out_{name}.mp4")
        seconds = time.perf_counter() - start
        written = cv2.VideoCapture(f"out_{name}.mp4").read()[1]
        print(f"| {name} | {demo.view} | {written.shape[1]}x{written.shape[0]} | {sharp or '-'} | {count} "
              f"| {seconds:.1f} | {count / seconds:.1f} |")

    target_set = DanceDemo.VideoSkeleton(target)
    source = DanceDemo.FileSource(args.source, target_set, progress=False)
    rt, rs = reduced_joints(target_set.landmarks), reduced_joints(source.poses[source.found])
    ht, hs = np.median(body_height(rt)), np.median(body_height(rs))
    at, as_ = np.median(body_anchor(rt), axis=0), np.median(body_anchor(rs), axis=0)
    print(f"\nnormalisation: scale {source.normalizer.scale:.3f}; median body height target {ht:.4f}, "
          f"normalised source {hs:.4f} ({100 * abs(hs / ht - 1):.2f} % apart); standing point target "
          f"({at[0]:.4f}, {at[1]:.4f}), normalised source ({as_[0]:.4f}, {as_[1]:.4f}) "
          f"({100 * np.abs(as_ - at).max():.2f} % of the crop apart)")


if __name__ == "__main__":
    main()

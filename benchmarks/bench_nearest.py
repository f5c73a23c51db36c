"""How fast and how steady GenNearest is. A script that prints figures, not a test.

    .venv/bin/python benchmarks/bench_nearest.py [--target DIR] [--source VIDEO] [--source-dir DIR]

1. Speed at the target's size (taichi1: 1482 frames): the course's Python loop
   (Skeleton.distance(reduced=False) for every frame), the brute force and the k-d
   tree, in queries per second, and the speed-up over the loop.
2. Speed at 100,000 (and 400,000) skeletons: the target's first 80 % of frames copied
   with small noise; queries are its held-out last 20 % plus noise ("far": a new pose)
   or seen skeletons plus noise ("near"). Milliseconds per query for the brute force
   and the tree, and whether they agree on every query.
3. Temporal continuity: a real source video's skeleton sequence against the target,
   for several temporal weights: how far the answer jumps in the target between
   consecutive queries, and how far its pose is from the query. The source's
   skeletons are in its own crop coordinates, the target's in its own: fine for
   comparing the weights with each other.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from GenNearest import INDEX_MIN_SIZE, TEMPORAL_WEIGHT, GenNearest, NearestIndex  # noqa: E402
from VideoSkeleton import VideoSkeleton  # noqa: E402
from Vec3 import Vec3  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
TARGET = SHARED / "taichi1"
SOURCE = SHARED / "videos" / "lotayou_afrobeat_left_real_crop.mp4"
SOURCE_DIR = "/tmp/dance_bench/lotayou_afrobeat_left_real_crop"
NOISE = 0.005            # per coordinate, in crop fractions: about MediaPipe's frame-to-frame jitter
LOOP_QUERIES = 20        # the course's loop is slow: this many queries are enough
QUERIES = 2000           # per method at the target's size
BIG_QUERIES = 300        # per method at 100,000 skeletons
BIG_SIZES = (100_000, 400_000)
WEIGHTS = (0.0, 0.1, TEMPORAL_WEIGHT, 0.5, 1.0)
BIG_JUMP = 10            # a jump of more than this many dataset items counts as a cut


def load():
    return os.getloadavg()[0]


def per_query_ms(function, queries, batches=5):
    """Median over `batches` batches of the milliseconds per call (robust to a busy machine)."""
    chunks = np.array_split(np.arange(len(queries)), batches)
    times = []
    for chunk in chunks:
        start = time.perf_counter()
        for i in chunk:
            function(queries[i])
        times.append((time.perf_counter() - start) / max(len(chunk), 1))
    return statistics.median(times) * 1e3


def course_distance(a, b):
    """The course's Skeleton.distance: a Python loop over the 33 landmarks, each a Vec3."""
    total = 0.0
    for i in range(33):
        total += Vec3.from_array(a.landmarks[i]).distance(b.landmarks[i])
    return total


def course_nearest(vs, ske):
    """The course's GenNeirest: a Python loop over frames, the sum of the 33 3D landmark distances."""
    best, best_index = float("inf"), 0
    for i, target in enumerate(vs.ske):
        distance = course_distance(ske, target)
        if distance < best:
            best, best_index = distance, i
    return best_index


def speed_at_target_size(vs, rng):
    print(f"\n## 1. One query at the target's size ({vs.skeCount()} frames of {vs.directory})")
    reduced = vs.reduced()
    picks = rng.integers(len(vs.ske), size=QUERIES)
    skeletons = []
    for i in picks:   # the target's poses, jittered: full 33-landmark skeletons for the course's loop
        ske = vs.ske[i].copy()
        ske.landmarks += rng.normal(0, NOISE, ske.landmarks.shape).astype(np.float32)
        skeletons.append(ske)
    loop_ms = per_query_ms(lambda s: course_nearest(vs, s), skeletons[:LOOP_QUERIES], batches=2)
    rows = [("course loop (33 3D points, Python)", loop_ms)]
    for method in ("brute", "tree"):
        gen = GenNearest(vs, method=method)
        rows.append((f"GenNearest.nearest_index, {method}", per_query_ms(gen.nearest_index, skeletons)))
        if method == "brute":
            rows.append(("GenNearest.generate, brute (+ image copy)", per_query_ms(gen.generate, skeletons)))
    print(f"{'method':44s} {'ms/query':>10s} {'queries/s':>11s} {'speed-up':>9s}")
    for name, ms in rows:
        print(f"{name:44s} {ms:10.4f} {1e3 / ms:11.0f} {loop_ms / ms:8.0f}x")
    queries = np.stack([s.reduce() for s in skeletons])
    agree = np.array_equal(NearestIndex(reduced, method="brute").nearest_many(queries),
                           NearestIndex(reduced, method="tree").nearest_many(queries))
    print(f"brute force and tree agree on all {len(queries)} queries: {agree}")


def speed_at_large_sizes(vs, rng):
    reduced = vs.reduced()
    split = int(len(reduced) * 0.8)   # by time, as DanceEval splits: neighbouring frames are near copies
    seen, held = reduced[:split], reduced[split:]
    print(f"\n## 2. Large datasets: the first {split} skeletons copied with noise N(0, {NOISE}); "
          f"queries = held-out last {len(held)} (far) or seen ones (near), + noise")
    print(f"   (GenNearest's 'auto' switches to the tree from INDEX_MIN_SIZE = {INDEX_MIN_SIZE:,} frames)")
    print(f"{'size':>9s} {'queries':>8s} {'brute ms':>9s} {'tree ms':>8s} {'build s':>8s} {'agree':>12s} {'auto':>6s}")
    for size in BIG_SIZES:
        points = seen[rng.integers(split, size=size)] + rng.normal(0, NOISE, (size, 26)).astype(np.float32)
        brute = NearestIndex(points, method="brute")
        start = time.perf_counter()
        tree = NearestIndex(points, method="tree")
        build = time.perf_counter() - start
        for kind, base in (("far", held), ("near", seen)):
            queries = (base[rng.integers(len(base), size=BIG_QUERIES)] +
                       rng.normal(0, NOISE, (BIG_QUERIES, 26))).astype(np.float32)
            brute_ms = per_query_ms(brute.nearest, queries)
            tree_ms = per_query_ms(tree.nearest, queries)
            same = int(np.sum(brute.nearest_many(queries) == tree.nearest_many(queries)))
            auto = "tree" if size >= INDEX_MIN_SIZE else "brute"
            print(f"{size:9,d} {kind:>8s} {brute_ms:9.3f} {tree_ms:8.3f} {build:8.2f} {same:>6d}/{len(queries):<5d} {auto:>6s}")
        del points, brute, tree


def temporal_continuity(target, source_video, source_dir):
    print(f"\n## 3. Temporal continuity: source {source_video} (every frame) -> target {target.directory}")
    start = time.perf_counter()
    source = VideoSkeleton(str(source_video), modFrame=1, out_dir=source_dir, progress=False)
    how = "loaded" if source.reused else "prepared"
    print(f"   source {how} in {time.perf_counter() - start:.1f} s: {source.skeCount()} skeletons in {source.directory}")
    reduced = target.reduced().astype(np.float64)
    print(f"{'weight':>7s} {'mean jump':>10s} {'median':>7s} {f'>{BIG_JUMP} items':>10s} {'repeats':>8s} "
          f"{'pose dist':>10s} {'vs plain':>9s}")
    plain_distance = None
    gen = GenNearest(target, preload=False)   # the search alone: no image is needed here
    for weight in WEIGHTS:
        gen.temporal_weight = weight
        gen.reset()
        answers = np.array([gen.nearest_index(ske) for ske in source.ske])
        jumps = np.abs(np.diff(answers))
        distance = np.mean(np.linalg.norm(reduced[answers] - source.reduced(), axis=1))
        plain_distance = plain_distance or distance
        note = "  (default TEMPORAL_WEIGHT)" if weight == TEMPORAL_WEIGHT else ""
        print(f"{weight:7.2f} {jumps.mean():10.1f} {np.median(jumps):7.0f} {np.mean(jumps > BIG_JUMP):9.1%} "
              f"{np.mean(jumps == 0):8.1%} {distance:10.4f} {distance / plain_distance - 1:+8.1%}{note}")
    print("   jump: |change of target index| between consecutive answers (1 item = "
          f"{np.median(np.diff(target.frame)):.0f} video frames of the target); pose dist: mean distance "
          "of the 26 reduced numbers to the query")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default=str(TARGET), help="prepared target dataset (default: %(default)s)")
    parser.add_argument("--source", default=str(SOURCE), help="source video for the temporal test (default: %(default)s)")
    parser.add_argument("--source-dir", default=SOURCE_DIR, help="where the source is prepared (default: %(default)s)")
    parser.add_argument("--skip-large", action="store_true", help="skip the 100,000 / 400,000 skeleton part")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"# bench_nearest: load average {load():.2f} at the start, {os.cpu_count()} CPUs")
    target = VideoSkeleton(args.target)
    speed_at_target_size(target, rng)
    if not args.skip_large:
        speed_at_large_sizes(target, rng)
    temporal_continuity(target, args.source, args.source_dir)
    print(f"\n# load average {load():.2f} at the end")


if __name__ == "__main__":
    main()

"""The simplest generator: show the target frame whose skeleton is closest.

    gen = GenNearest(VideoSkeleton("data/taichi1"))     # GenNeirest, the course's spelling, works too
    image = gen.generate(ske)          # BGR uint8 crop of the target whose pose is nearest to `ske`
    i = gen.nearest_index(ske)         # ... or just its index in the dataset

    python GenNearest.py [--target DATASET_DIR] [--source VIDEO_OR_DATASET] [--out FILE.png]

How it works. Every target frame is described by its reduced skeleton, 26 numbers
(13 joints x (x, y), see Skeleton.reduce). All of them sit in one float32 array
(K, 26); a query is the row nearest to the query's 26 numbers in Euclidean
distance, found in one vectorised computation (never a Python loop over frames):

- brute force, below INDEX_MIN_SIZE frames (150,000): the squared distance to every
  row expanded as ||x||^2 - 2 x.q + ||q||^2, i.e. one matrix-vector product over
  data centred once at load time (centring keeps float32 rounding small); its time
  does not depend on the query;
- a k-d tree (scipy.spatial.cKDTree, exact query) from INDEX_MIN_SIZE on. The
  tree is built in the data's principal axes (a rotation: distances do not
  change) because pose data varies mostly along a few directions and a k-d
  tree splits one axis at a time.

Both finish the same way: the few candidates within rounding of the best are
compared again with exact float64 distances, equal distances go to the earliest
frame, so both methods give the same answer (tests/test_gen_nearest.py checks it).
All target images are loaded into memory once, so generate() reads no file, as long as they fit
in NEAREST_MEMORY_BYTES; a larger dataset (say 1000 crops of 2048 px: 17 GB) stays on disk, and
generate() reads the chosen frame's crop (and mask) when it needs it: the same images, one
file read more per frame.

Temporal continuity. Plain nearest neighbour answers each query on its own, so
consecutive output frames jump between distant parts of the target video and the
result flickers. With temporal_weight = w > 0 the generator remembers its previous
answer p and picks, for the next query, the frame i of least

    cost(i) = pose_distance(i) * (1 + w * min(|t_i - t_p| / TEMPORAL_WINDOW_S, 1))

where t is the frame's time in the target video (seconds). A frame far away in time
(TEMPORAL_WINDOW_S or more) must be (1 + w) times nearer in pose to win over the
previous frame: w = 0.3 (TEMPORAL_WEIGHT) accepts a pose up to 30 % farther to avoid
a jump; frames a little away in time pay a proportional part. A scale-free rule:
it needs no tuning to the dataset's units, and an exact pose match (distance 0)
still always wins. The search is still exact: no frame can cost less than the plain nearest
frame's cost, so only frames within that pose distance are examined. reset()
forgets p (a new sequence); w = 0 is the plain nearest neighbour.
"""
import argparse
import functools
import math
import os

import cv2
import numpy as np

from DanceUtils import DATA_DIR, PROJECT_DIR, DanceError, blend, check_output_file, fit_size, image_writable, run_cli, shown, write_image
from Skeleton import Skeleton, draw_stick_figure, reduced_joints

# From this many target frames on, search a k-d tree instead of brute force. Below, the brute
# force's float32 array (K x 26 x 4 bytes) stays in the CPU cache and its time does not depend on
# the query; the tree's depends on how far the query is from every frame (fast for a pose seen
# before, slower than brute for a new one). Above, the brute force becomes memory-bound and the
# tree wins on both (benchmarks/bench_nearest.py).
INDEX_MIN_SIZE = 150_000
TREE_LEAF_SIZE = 16         # points per k-d tree leaf (measured best on pose data, benchmarks/bench_nearest.py)
TEMPORAL_WEIGHT = 0.3       # recommended temporal_weight (the constructor's default 0 is the plain nearest)
TEMPORAL_WINDOW_S = 10.0    # a jump in time this long (seconds of target video) or longer gets the full penalty
DEFAULT_FPS = 25.0          # the target's frame rate when its dataset does not record it
TIE_SLACK = 1e-9            # relative slack under which two distances count as equal
ROUNDING_SLACK = 1e-5       # relative error bound of the float32 brute force (refined in float64 after)
METHODS = ("auto", "brute", "tree")
# Over the plate, the nearest frame's person is pasted through its mask grown by this fraction of
# the crop's side and softened over half that: MediaPipe's mask misses hair, fingers and loose
# clothes, and the frame's own surroundings of the person match the plate far better than a hard
# edge does. Measured on the Afrobeat dancer (docs/BENCHMARKS.md): the mask as it is, SSIM 0.799
# and PSNR 18.66 (below the whole crop's 19.97); grown 5 %, SSIM 0.818 and PSNR 20.01.
MASK_GROWTH = 0.05
# The crops (and, with a plate, their opacities) are kept in memory while they need at most this
# many bytes: 2 GiB holds 32,000 crops of 128 px or 2,000 of 512 px, and leaves room beside the rest of
# a laptop's work. A larger dataset (1000 crops of 2048 px, VideoSkeleton.MAX_SIZE, need 17 GB)
# stays on disk: each generated frame reads its crop and mask, with the same result.
NEAREST_MEMORY_BYTES = 2 << 30
# On disk, the last frames read are kept (at most this many, 135 MB at 2048 px): a dancer who holds
# still, or sways between two poses, is answered with the same few frames again and again.
NEAREST_CACHE_FRAMES = 8

# Defaults of `python GenNearest.py`.
TARGETS = (os.path.join(DATA_DIR, "taichi1"), os.path.join(PROJECT_DIR, os.pardir, "shared", "data", "taichi1"),
           os.path.join(DATA_DIR, "sample_target"))   # the first that exists
OUT = os.path.join(DATA_DIR, "gen_nearest_grid.png")
GRID_COUNT = 6


def reduced_of(ske):
    """The 26 reduced numbers of a Skeleton, or of anything array-like of 26 numbers."""
    if isinstance(ske, Skeleton):
        return reduced_joints(ske.landmarks).reshape(-1)   # = ske.reduce(), without a second copy
    values = np.asarray(ske, dtype=np.float32).reshape(-1)
    if values.shape != (Skeleton.reduced_dim,):
        raise ValueError(f"a query must be a Skeleton or 26 numbers, not an array of shape {values.shape}")
    return values


class NearestIndex:
    """Exact nearest-neighbour search over K points of 26 numbers (no images).

    points: (K, 26) reduced skeletons; times: (K,) their time in seconds (for the
    temporal cost; default: their order). method: "brute", "tree", or "auto"
    (the tree from INDEX_MIN_SIZE points on).
    """

    def __init__(self, points, times=None, method="auto"):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        self.points = np.ascontiguousarray(points, dtype=np.float32)
        if self.points.ndim != 2 or len(self.points) == 0:
            raise ValueError(f"points must be a non-empty (K, D) array, not of shape {self.points.shape}")
        self.times = np.arange(len(self.points), dtype=np.float64) if times is None else np.asarray(times, np.float64)
        if self.times.shape != (len(self.points),):
            raise ValueError(f"times must have one value per point, not shape {self.times.shape}")
        if method == "auto":
            method = "tree" if len(self.points) >= INDEX_MIN_SIZE else "brute"
        self.method = method
        self.mean = self.points.mean(axis=0)
        if method == "brute":
            # Centred once: the expansion's float32 terms stay small, so does their rounding.
            centred = self.points - self.mean
            self.norms = np.einsum("ij,ij->i", centred, centred)
            self.norm_max = float(self.norms.max())
            # Stored transposed, (26, K), and times -2: q @ it streams K-long rows (4x faster than
            # (K, 26) @ q at 100,000 frames) and gives -2 x.q with no further pass.
            self.minus2_centred_t = np.ascontiguousarray(-2.0 * centred.T)
        else:
            from scipy.spatial import cKDTree

            # Principal axes: the tree's axis-aligned splits then follow the directions poses vary along.
            centred = self.points.astype(np.float64) - self.mean
            _, vectors = np.linalg.eigh(centred.T @ centred)
            self.axes = vectors[:, ::-1]
            self.tree = cKDTree(centred @ self.axes, leafsize=TREE_LEAF_SIZE)

    def __len__(self):
        return len(self.points)

    # ------------------------------------------------------------------ the search
    def _exact(self, query, candidates):
        """Exact float64 distances from `query` to the points `candidates`."""
        diff = self.points[candidates].astype(np.float64) - query.astype(np.float64)
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))

    def _brute_scores(self, query):
        """(||x||^2 - 2 x.q for every point x, ||q||^2, rounding slack), all centred: one pass over the data."""
        centred = query - self.mean
        scores = centred @ self.minus2_centred_t
        scores += self.norms
        qq = float(centred @ centred)
        return scores, qq, ROUNDING_SLACK * (self.norm_max + qq) + 1e-12

    def _rotated(self, query):
        """The query in the tree's principal axes, in float64 like the tree's points."""
        return (query.astype(np.float64) - self.mean) @ self.axes

    def _within(self, query, radius, brute_scores=None):
        """Indices (sorted) of all points at distance <= radius, plus possibly a few just beyond."""
        if self.method == "brute":
            scores, qq, slack = brute_scores or self._brute_scores(query)
            return np.flatnonzero(scores <= radius * radius - qq + slack)
        found = self.tree.query_ball_point(self._rotated(query), radius * (1 + TIE_SLACK) + 1e-12)
        return np.sort(np.asarray(found, dtype=np.int64))

    def _nearest_candidates(self, query, brute_scores=None):
        """A few indices (sorted) sure to contain the nearest point and all points tied with it."""
        if self.method == "brute":
            scores, _, slack = brute_scores or self._brute_scores(query)
            best = int(scores.argmin())
            lowest = scores[best]
            scores[best] = np.inf          # a second min() is cheaper than listing every near score
            runner_up = scores.min()
            scores[best] = lowest          # (the scores may serve again, for the temporal search)
            if runner_up > lowest + slack:
                return [best]
            # A near tie: every point within rounding of the best, compared exactly by the caller.
            return np.flatnonzero(scores <= lowest + slack)
        k = min(2, len(self))
        distances, indices = self.tree.query(self._rotated(query), k=k)
        distances, indices = np.atleast_1d(distances), np.atleast_1d(indices)
        if k == 2 and distances[1] <= distances[0] * (1 + TIE_SLACK) + 1e-12:
            return self._within(query, distances[0])   # a tie: look at every point that near
        return indices[:1]

    def nearest(self, query, brute_scores=None):
        """(index, distance) of the nearest point; equal distances go to the smallest index."""
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        candidates = self._nearest_candidates(query, brute_scores)
        if len(candidates) == 1:   # the usual case, kept short: this is most of a query's time
            diff = self.points[candidates[0]].astype(np.float64) - query
            return int(candidates[0]), math.sqrt(diff @ diff)
        distances = self._exact(query, candidates)
        best = int(np.argmin(distances))
        return int(candidates[best]), float(distances[best])

    def query(self, query, previous=None, temporal_weight=0.0):
        """(index, distance) of the least temporal cost (module docstring); the nearest without a previous answer."""
        if previous is None or temporal_weight <= 0:
            return self.nearest(query)
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        scores = self._brute_scores(query) if self.method == "brute" else None   # one pass serves both searches
        index, distance = self.nearest(query, scores)
        # No frame costs less than the nearest one's cost, and cost >= pose distance:
        # only frames within that pose distance can win.
        bound = distance * (1 + temporal_weight * self.time_penalty(np.array([index]), previous)[0])
        candidates = self._within(query, bound, scores)
        distances = self._exact(query, candidates)
        cost = distances * (1 + temporal_weight * self.time_penalty(candidates, previous))
        best = int(np.argmin(cost))
        return int(candidates[best]), float(distances[best])

    def time_penalty(self, indices, previous):
        """0 for the previous frame, growing linearly to 1 at TEMPORAL_WINDOW_S away in time."""
        return np.minimum(np.abs(self.times[indices] - self.times[previous]) / TEMPORAL_WINDOW_S, 1.0)

    def nearest_many(self, queries):
        """Plain nearest index of each row of `queries` (N, 26): one query after the other."""
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, self.points.shape[1])
        return np.array([self.nearest(q)[0] for q in queries], dtype=np.int64).reshape(-1)


def grown_opacity(mask):
    """A person mask (uint8 0..255) grown and softened (MASK_GROWTH of its side): the opacity a nearest
    frame's person is pasted with (its edge, hair and shadow come along)."""
    grow = max(1, round(MASK_GROWTH * mask.shape[0]))
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    soft = max(1, grow // 2)
    return cv2.blur(mask, (2 * soft + 1,) * 2)


class GenNearest:
    """Generator: the target crop whose skeleton is nearest to the asked skeleton.

    videoSkeTgt: the target's VideoSkeleton. temporal_weight: 0 for the plain
    nearest neighbour, > 0 to prefer frames near the previous answer in time
    (TEMPORAL_WEIGHT is a good value; see the module docstring). method: "auto",
    "brute" or "tree". preload: keep all target images in memory when they fit in
    NEAREST_MEMORY_BYTES (else, or with False, read the chosen frame from disk on demand).
    plate: put the nearest frame's person (its mask, grown by MASK_GROWTH) over the background plate
    at the asked box, rather than its whole crop (default: when the dataset has a plate and masks).
    Asked for a larger image than the dataset's crops (generate's `size`, as the scene does), it gives
    the frame's sharp crop (VideoSkeleton's HIGH_SIZE, read from disk) rather than an enlargement.
    """

    def __init__(self, videoSkeTgt, temporal_weight=0.0, method="auto", preload=True, plate=None):
        if temporal_weight < 0:
            raise ValueError(f"temporal_weight must be 0 or more, not {temporal_weight}")
        self.videoSkeletonTarget = videoSkeTgt
        self.temporal_weight = float(temporal_weight)
        fps = float(getattr(videoSkeTgt, "settings", {}).get("fps") or DEFAULT_FPS)
        times = np.asarray(videoSkeTgt.frame, dtype=np.float64) / fps
        self.index = NearestIndex(videoSkeTgt.reduced(), times=times, method=method)
        self.shape = videoSkeTgt.readImage(0).shape   # every generated image has the first crop's shape
        self.previous = None
        self.last_distance = None   # pose distance of the last answer (for display)
        has_plate = getattr(videoSkeTgt, "has_plate", False) and videoSkeTgt.readMask(0) is not None
        self.plate = has_plate if plate is None else bool(plate) and has_plate
        # The memory the images would take is known before reading them: all crops have the first one's shape.
        needed = self.memory_needed()
        self.in_memory = preload and needed <= NEAREST_MEMORY_BYTES
        if preload and not self.in_memory:
            print(f"{videoSkeTgt.directory}: its {len(self.index)} crops need {needed / 2**30:.1f} GiB, more than "
                  f"NEAREST_MEMORY_BYTES ({NEAREST_MEMORY_BYTES / 2**30:.1f} GiB, GenNearest.py): each generated "
                  f"frame is read from disk instead")
        self.images = self._load(videoSkeTgt.readImage, self.shape) if self.in_memory else None
        self.opacities = self._load(self._opacity_of, self.shape[:2]) if self.in_memory and self.plate else None
        # On disk: a small cache of the last frames read (a cache per generator, so two never mix datasets).
        self._frame_from_disk = functools.lru_cache(maxsize=NEAREST_CACHE_FRAMES)(self._read_frame)
        self.sharp_size = int(getattr(videoSkeTgt, "high_size", 0))   # its sharp crops' side (0: none)
        self._sharp_from_disk = functools.lru_cache(maxsize=NEAREST_CACHE_FRAMES)(self._read_sharp)

    def memory_needed(self):
        """Bytes that all crops (and their opacities, with a plate) take in memory: K x H x W x (3 + 1)."""
        height, width = self.shape[:2]
        channels = self.shape[2] + (1 if self.plate else 0)
        return len(self.index) * height * width * channels

    def _load(self, read, shape):
        """All target crops (read=vs.readImage) or opacities (self._opacity_of) as one (K, *shape) uint8
        array, filled in place (no second copy)."""
        count = self.videoSkeletonTarget.skeCount()
        items = np.empty((count,) + shape, dtype=np.uint8)
        for i in range(count):
            items[i] = self._fit(read(i))
        return items

    def _fit(self, image):
        """The crop at the dataset's size: a few crops of real datasets are a pixel short at the frame's edge."""
        if image.shape[:2] != self.shape[:2]:
            image = cv2.resize(image, self.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        return image

    def _opacity_of(self, index):
        """Target frame `index`'s person mask, grown and softened (MASK_GROWTH), uint8 0..255."""
        return grown_opacity(self._fit(self.videoSkeletonTarget.readMask(index)))

    def _read_sharp(self, index):
        """Target frame `index`'s sharp crop and, with a plate, its opacity (uint8) as _opacity_of."""
        vs = self.videoSkeletonTarget
        return vs.readHighImage(index), grown_opacity(vs.readHighMask(index)) if self.plate else None

    def _sized(self, index, size):
        """(crop, opacity uint8 or None) of frame `index` at size x size: from its sharp crop when larger
        than the dataset's crops is asked and there is one, else from the dataset's crop."""
        if size > self.shape[0] and self.sharp_size:
            crop, opacity = self._sharp_from_disk(index)
        else:
            crop = self._frame_from_disk(index)[0] if self.images is None else self.images[index]
            opacity = None if not self.plate else (
                self._frame_from_disk(index)[1] if self.opacities is None else self.opacities[index])
        return fit_size(crop, size), None if opacity is None else fit_size(opacity, size)

    def _read_frame(self, index):
        """Target frame `index` read from disk: (its crop, its opacity (uint8) or None without a plate)."""
        crop = self._fit(self.videoSkeletonTarget.readImage(index))
        return crop, self._opacity_of(index) if self.plate else None

    def reset(self):
        """Forget the previous answer: the next query starts a new sequence."""
        self.previous = None

    def nearest_index(self, ske):
        """Index in the target dataset of the frame chosen for `ske` (Skeleton or 26 numbers).

        With temporal_weight > 0 this remembers the answer for the next call.
        """
        index, self.last_distance = self.index.query(reduced_of(ske), self.previous, self.temporal_weight)
        if self.temporal_weight > 0:
            self.previous = index
        return index

    nearestIndex = nearest_index

    def generate(self, ske, box=None, view=None, size=None):
        """The target crop (BGR uint8, a copy the caller may draw on) chosen for `ske`; with a plate, its
        person over the plate's crop at `box` (default: the dataset's typical box; `view`: see
        GenVanillaNN.generate). size: its side (default: the dataset's crops'; larger: from the sharp crop)."""
        person, alpha, background = self.generate_layers(ske, box, view, size)
        return person if alpha is None else blend(person, alpha, background)

    def generate_layers(self, ske, box=None, view=None, size=None):
        """(the chosen crop, its person's opacity float32 0..1 (the mask grown, MASK_GROWTH), the plate's
        crop at `box`), size x size (default: the dataset's crops' side);
        without a plate (the chosen crop, None, None). See GenVanillaNN.generate_layers."""
        index = self.nearest_index(ske)
        size = self.shape[0] if size is None else int(size)
        crop, opacity = self._sized(index, size)
        if not self.plate:
            return crop.copy(), None, None
        vs = self.videoSkeletonTarget
        box = vs.typical_box() if box is None else box
        background = vs.plate_crop(box, size, view=view)
        # Where the plate does not know the room (the person always stood there), the frame's own crop.
        unsure = 255 - vs.confidence_crop(box, size, view=view)
        return crop.copy(), np.maximum(opacity, unsure).astype(np.float32) / 255, background

    def image(self, index):
        """Target crop number `index` (a copy)."""
        if self.images is None:
            return self._frame_from_disk(index)[0].copy()   # a copy: the cache keeps the original
        return self.images[index].copy()


GenNeirest = GenNearest  # the course's spelling


# ---------------------------------------------------------------------- the command line
def label(image, text):
    cv2.putText(image, text, (3, image.shape[0] - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1,
                cv2.LINE_AA)
    return image


def nearest_grid(source, gen, count=GRID_COUNT):
    """count source frames (evenly spaced): their crop, their stick figure, the chosen target crop."""
    picks = np.unique(np.linspace(0, source.skeCount() - 1, count).round().astype(int))
    columns = []
    for k in picks:
        size = gen.shape[0]
        image = cv2.resize(source.readImage(k), (size, size))
        figure = draw_stick_figure(np.zeros_like(image), source.ske[k].reduce())
        index = gen.nearest_index(source.ske[k])
        target = cv2.resize(gen.image(index), (size, size))
        columns.append(np.vstack([label(image, f"frame {source.frame[k]}"), label(figure, "its skeleton"),
                                  label(target, f"#{index} d={gen.last_distance:.2f}")]))
    return np.hstack(columns)


def main(argv=None):
    from VideoSkeleton import MOD_FRAME, VideoSkeleton, dataset_dir_for

    parser = argparse.ArgumentParser(description="Show, for a few source skeletons, the target frame GenNearest picks.")
    parser.add_argument("--data", "--target", dest="data", default=None,
                        help="the target: a prepared dataset or a video (default: the first of data/taichi1, "
                             "../shared/data/taichi1, data/sample_target)")
    parser.add_argument("--source", default=None, help="the source: a video or prepared dataset (default: the target)")
    parser.add_argument("--out", default=OUT, help="the PNG grid to write (default: data/gen_nearest_grid.png)")
    parser.add_argument("--count", type=int, default=GRID_COUNT, help="how many source frames (default: %(default)s)")
    parser.add_argument("--mod-frame", type=int, default=MOD_FRAME,
                        help="when a video is prepared, keep one frame in N (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.count < 1:
        raise DanceError(f"--count {args.count}: must be 1 or more")
    target = args.data or next((t for t in TARGETS if os.path.isdir(t)), None)
    # The grid never goes inside a dataset it reads (over its plate or a crop): the target's and the
    # source's, where a video given for either is prepared (data/<its name>/).
    datasets = [dataset_dir_for(path) if os.path.isfile(path) else path for path in (target, args.source) if path]
    check_output_file(args.out, inputs=[args.data, args.source], create=args.out == OUT, input_folders=datasets)
    if not image_writable(args.out):
        raise DanceError(f"--out {args.out}: not an image file name OpenCV can write (use .png or .jpg)")
    if target is None:
        raise DanceError(f"no target dataset found in {', '.join(map(shown, TARGETS))}; give one with --data")
    target_vs = VideoSkeleton(target, modFrame=args.mod_frame)
    source_vs = VideoSkeleton(args.source, modFrame=args.mod_frame) if args.source else target_vs
    gen = GenNearest(target_vs)
    grid = nearest_grid(source_vs, gen, args.count)
    write_image(args.out, grid)
    print(f"{shown(args.out)}: {grid.shape[1] * 3 // grid.shape[0]} source frames of {source_vs.directory} "
          f"(top), their skeletons and their nearest frames of {target_vs.directory} (bottom)")
    return 0


if __name__ == "__main__":
    run_cli(main)

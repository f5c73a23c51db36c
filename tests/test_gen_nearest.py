"""GenNearest: the exact nearest frame, brute force and k-d tree agree, temporal continuity.

Most tests build a tiny dataset of known periodic poses in tmp_path; the last ones use the
synthetic sample's target prepared with MediaPipe (`sample_dataset`). The real taichi1
dataset (1482 frames): tests/test_real_footage.py.
"""
from pathlib import Path

import cv2
import numpy as np
import pytest

import GenNearest as gn
from GenNearest import GenNearest, GenNeirest, NearestIndex
from Skeleton import Skeleton
from VideoSkeleton import VideoSkeleton

SIZE = 32            # side of the synthetic crops
PERIOD = 20          # the synthetic dancer repeats her motion every PERIOD frames
CYCLES = 6
MOD_FRAME = 10       # synthetic frame numbers 0, 10, 20... as in a dataset kept one frame in 10


def periodic_landmarks(count, rng, noise=0.002):
    """(count, 33, 3) landmarks of a periodic motion: frames PERIOD apart have nearly the same pose."""
    base = rng.uniform(0.3, 0.7, (33, 3)).astype(np.float32)
    direction = rng.normal(0, 1, (2, 33, 3)).astype(np.float32)
    phase = 2 * np.pi * np.arange(count) / PERIOD
    motion = 0.08 * (np.sin(phase)[:, None, None] * direction[0] + np.cos(phase)[:, None, None] * direction[1])
    return (base + motion + rng.normal(0, noise, (count, 33, 3))).astype(np.float32)


def write_dataset(directory, landmarks, frames=None, odd_image=None):
    """A prepared dataset in the contract's format: solid crops with their index written, landmarks.npz."""
    directory = Path(directory)
    (directory / "images").mkdir(parents=True)
    count = len(landmarks)
    frames = np.arange(count) * MOD_FRAME if frames is None else np.asarray(frames)
    names = []
    for k in range(count):
        image = np.full((SIZE, SIZE, 3), ((37 * k) % 256, (91 * k) % 256, (53 * k) % 256), np.uint8)
        cv2.putText(image, str(k), (2, SIZE - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1)
        if k == odd_image:
            image = image[:-1]   # a crop one pixel short, as real datasets have at the frame's edge
        names.append(f"image{frames[k]}.jpg")
        cv2.imwrite(str(directory / "images" / names[-1]), image)
    np.savez(directory / "landmarks.npz", landmarks=np.asarray(landmarks, np.float32), image=np.array(names),
             frame=frames.astype(np.int64))
    return directory


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    rng = np.random.default_rng(1)
    directory = write_dataset(tmp_path_factory.mktemp("nearest") / "dancer",
                              periodic_landmarks(PERIOD * CYCLES, rng))
    return VideoSkeleton(str(directory))


def reference_nearest(reduced, query):
    """The brute-force answer written the obvious way, in float64."""
    return int(np.argmin(np.linalg.norm(reduced.astype(np.float64) - np.asarray(query, np.float64), axis=1)))


def jittery_sequence(vs, rng, start, length, noise):
    """The target's own poses from `start` on, each jittered: a query sequence that moves smoothly."""
    reduced = vs.reduced()
    return [Skeleton.from_reduced(reduced[(start + k) % len(reduced)] + rng.normal(0, noise, 26))
            for k in range(length)]


def mean_jump(gen, sequence):
    gen.reset()
    answers = np.array([gen.nearest_index(ske) for ske in sequence])
    return np.abs(np.diff(answers)).mean(), answers


# ---------------------------------------------------------------------- synthetic data
def test_generate_returns_the_queried_frame(synthetic):
    gen = GenNearest(synthetic)
    for i in range(synthetic.skeCount()):
        image = gen.generate(synthetic.ske[i])
        assert image.dtype == np.uint8 and image.shape == (SIZE, SIZE, 3)
        assert np.array_equal(image, synthetic.readImage(i)), f"frame {i}: not its own image"
        assert gen.nearest_index(synthetic.ske[i]) == i


def test_course_names_and_query_forms(synthetic):
    assert GenNeirest is GenNearest
    gen = GenNeirest(synthetic)   # the course's spelling and call
    assert gen.nearest_index(synthetic.reduced()[7]) == 7          # 26 numbers work as a query too
    assert gen.nearestIndex(synthetic.ske[7]) == 7
    with pytest.raises(ValueError):
        gen.generate(np.zeros(25))
    with pytest.raises(ValueError):
        GenNearest(synthetic, temporal_weight=-1)


def test_perturbed_skeleton_gets_the_nearest_frame(synthetic):
    rng = np.random.default_rng(2)
    reduced = synthetic.reduced()
    for method in ("brute", "tree"):
        gen = GenNearest(synthetic, method=method)
        for _ in range(200):
            query = reduced[rng.integers(len(reduced))] + rng.normal(0, 0.02, 26)
            expected = reference_nearest(reduced, query)
            assert gen.nearest_index(Skeleton.from_reduced(query)) == expected
            assert gen.last_distance == pytest.approx(np.linalg.norm(reduced[expected] - query), rel=1e-5)


def test_generate_returns_a_copy(synthetic):
    gen = GenNearest(synthetic)
    first = gen.generate(synthetic.ske[3])
    first[:] = 0   # a caller drawing on the result
    assert np.array_equal(gen.generate(synthetic.ske[3]), synthetic.readImage(3))


def test_without_preloading_the_images_are_the_same(synthetic):
    preloaded, on_demand = GenNearest(synthetic), GenNearest(synthetic, preload=False)
    assert on_demand.images is None and preloaded.images.shape == (synthetic.skeCount(), SIZE, SIZE, 3)
    for i in (0, 5, 50):
        assert np.array_equal(preloaded.generate(synthetic.ske[i]), on_demand.generate(synthetic.ske[i]))


def test_a_crop_one_pixel_short_is_resized(tmp_path):
    rng = np.random.default_rng(3)
    vs = VideoSkeleton(str(write_dataset(tmp_path / "odd", periodic_landmarks(10, rng), odd_image=4)))
    gen = GenNearest(vs)
    assert gen.generate(vs.ske[4]).shape == (SIZE, SIZE, 3)
    assert GenNearest(vs, preload=False).generate(vs.ske[4]).shape == (SIZE, SIZE, 3)


@pytest.mark.parametrize("spread", [0.005, 0.05])   # queries near the data, and far from it
def test_brute_force_and_tree_agree(spread):
    rng = np.random.default_rng(4)
    centres = rng.uniform(0.2, 0.8, (50, 26)).astype(np.float32)
    points = (centres[rng.integers(50, size=3000)] + rng.normal(0, 0.01, (3000, 26))).astype(np.float32)
    brute, tree = NearestIndex(points, method="brute"), NearestIndex(points, method="tree")
    queries = centres[rng.integers(50, size=300)] + rng.normal(0, spread, (300, 26))
    expected = np.array([reference_nearest(points, q) for q in queries])
    assert np.array_equal(brute.nearest_many(queries), expected)
    assert np.array_equal(tree.nearest_many(queries), expected)


def test_ties_go_to_the_earliest_frame_with_both_methods():
    rng = np.random.default_rng(5)
    points = rng.uniform(0, 1, (40, 26)).astype(np.float32)
    points[30] = points[12]          # the same pose twice
    for method in ("brute", "tree"):
        index = NearestIndex(points, method=method)
        assert index.nearest(points[12])[0] == 12
        assert index.nearest(points[12] + 1e-4)[0] == 12


def test_auto_picks_the_tree_from_the_threshold(monkeypatch):
    points = np.random.default_rng(6).uniform(0, 1, (100, 26))
    monkeypatch.setattr(gn, "INDEX_MIN_SIZE", 101)
    assert NearestIndex(points).method == "brute"
    monkeypatch.setattr(gn, "INDEX_MIN_SIZE", 100)
    assert NearestIndex(points).method == "tree"


def test_temporal_weight_zero_is_the_plain_nearest(synthetic):
    rng = np.random.default_rng(7)
    sequence = jittery_sequence(synthetic, rng, 0, 60, 0.02)
    plain_gen = GenNearest(synthetic)
    plain = [plain_gen.nearest_index(ske) for ske in sequence]
    _, answers = mean_jump(GenNearest(synthetic, temporal_weight=0.0), sequence)
    assert list(answers) == plain


def test_temporal_continuity_reduces_the_jumps(synthetic):
    # The dancer repeats her motion, so plain nearest neighbour hops between repetitions.
    rng = np.random.default_rng(8)
    sequence = jittery_sequence(synthetic, rng, PERIOD, 2 * PERIOD, 0.01)
    reduced = synthetic.reduced()

    def pose_error(answers):
        return np.mean([np.linalg.norm(reduced[i] - ske.reduce()) for i, ske in zip(answers, sequence)])

    plain_jump, plain = mean_jump(GenNearest(synthetic), sequence)
    assert plain_jump > PERIOD / 2, "the test sequence should make plain nearest neighbour jump"
    for method in ("brute", "tree"):
        smooth_jump, smooth = mean_jump(GenNearest(synthetic, temporal_weight=0.5, method=method), sequence)
        assert smooth_jump < plain_jump / 3, (smooth_jump, plain_jump)
        # The chosen frames still show nearly the asked pose (the same phase of another repetition).
        assert pose_error(smooth) < 1.5 * pose_error(plain)


@pytest.mark.parametrize("weight", [0.4, 3.0])
def test_temporal_answer_minimises_the_documented_cost(synthetic, weight):
    """Each answer is the argmin over all frames of distance * (1 + w * time penalty)."""
    rng = np.random.default_rng(9)
    reduced = synthetic.reduced().astype(np.float64)
    times = synthetic.frame / gn.DEFAULT_FPS
    for method in ("brute", "tree"):
        gen = GenNearest(synthetic, temporal_weight=weight, method=method)
        previous = None
        for ske in jittery_sequence(synthetic, rng, 3, 40, 0.03):
            distances = np.linalg.norm(reduced - ske.reduce(), axis=1)
            if previous is None:
                cost = distances
            else:
                cost = distances * (1 + weight * np.minimum(np.abs(times - times[previous]) / gn.TEMPORAL_WINDOW_S, 1))
            answer = gen.nearest_index(ske)
            assert cost[answer] == pytest.approx(cost.min(), rel=1e-6)
            previous = answer


def test_reset_forgets_the_previous_answer(synthetic):
    gen = GenNearest(synthetic, temporal_weight=5.0)
    # Near frame PERIOD * 4 + 2, not on it: an exact pose match costs 0 whatever the weight.
    query = Skeleton.from_reduced(synthetic.reduced()[PERIOD * 4 + 2] + np.random.default_rng(12).normal(0, 0.01, 26))
    assert GenNearest(synthetic).nearest_index(query) == PERIOD * 4 + 2
    gen.nearest_index(synthetic.ske[2])                 # previous answer in the first repetition
    assert gen.nearest_index(query) != PERIOD * 4 + 2   # a heavy weight keeps it near frame 2
    gen.reset()
    assert gen.nearest_index(query) == PERIOD * 4 + 2   # a new sequence: the plain nearest


def test_command_line_writes_a_grid(synthetic, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert gn.main(["--target", synthetic.directory, "--out", str(out), "--count", "3"]) == 0
    grid = cv2.imread(str(out))
    assert grid.shape == (3 * SIZE, 3 * SIZE, 3)
    assert str(out) in capsys.readouterr().out


def test_command_line_reports_a_missing_target(tmp_path):
    with pytest.raises(gn.DanceError, match="no such file"):
        gn.main(["--target", str(tmp_path / "absent"), "--out", str(tmp_path / "g.png")])


# ---------------------------------------------------------------------- a dataset prepared with MediaPipe
def test_prepared_frames_find_themselves(sample_dataset):
    gen = GenNearest(sample_dataset)
    size = sample_dataset.image_size
    assert gen.images.shape == (sample_dataset.skeCount(), size, size, 3)
    for i in range(0, sample_dataset.skeCount(), 7):
        assert gen.nearest_index(sample_dataset.ske[i]) == i
        assert np.array_equal(gen.images[i], sample_dataset.readImage(i))
        image = gen.generate(sample_dataset.ske[i])
        assert image.dtype == np.uint8 and image.shape == (size, size, 3)


def test_prepared_poses_perturbed_and_methods_agree(sample_dataset):
    rng = np.random.default_rng(10)
    reduced = sample_dataset.reduced()
    gen = GenNearest(sample_dataset, preload=False)
    tree = NearestIndex(reduced, method="tree")
    queries = reduced[rng.integers(len(reduced), size=300)] + rng.normal(0, 0.02, (300, 26))
    expected = np.array([reference_nearest(reduced, q) for q in queries])
    assert gen.index.method == "brute"          # a small dataset: no tree
    assert np.array_equal(gen.index.nearest_many(queries), expected)
    assert np.array_equal(tree.nearest_many(queries), expected)

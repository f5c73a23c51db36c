"""Bounded memory: GenNearest's crops and the training dataset's items stay on disk beyond a limit.

NEAREST_MEMORY_BYTES (GenNearest.py) and DATASET_MEMORY_BYTES (DanceDataset.py) are set very low
here, so the synthetic sample takes the on-demand path: its results must be those of the
in-memory path, item for item, and the user is told once, in one plain line.
"""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import GenNearest as gn
import DanceDataset as data_module
from GenNearest import GenNearest, TEMPORAL_WEIGHT
from GenVanilla import GenVanillaNN, VideoSkeletonDataset

SIZE = 64
NGF = 8


def count_reads(monkeypatch, vs):
    """Count the dataset's file reads (crops and masks) from now on: returns a dict {"image": n, "mask": n}."""
    reads = {"image": 0, "mask": 0}
    read_image, read_mask = vs.readImage, vs.readMask

    def image(idx):
        reads["image"] += 1
        return read_image(idx)

    def mask(idx):
        reads["mask"] += 1
        return read_mask(idx)

    monkeypatch.setattr(vs, "readImage", image)
    monkeypatch.setattr(vs, "readMask", mask)
    return reads


def queries(vs, count=30):
    """Source poses: the dataset's own and perturbed ones (so that the answers vary)."""
    rng = np.random.default_rng(0)
    reduced = vs.reduced()
    picks = rng.integers(len(reduced), size=count)
    return list(reduced[picks] + rng.normal(0, 0.03, (count, 26)).astype(np.float32))


# ---------------------------------------------------------------------- GenNearest
@pytest.mark.parametrize("plate", [None, False])   # the sample's plate (the person pasted), and whole crops
@pytest.mark.parametrize("weight", [0.0, TEMPORAL_WEIGHT])
def test_nearest_over_its_limit_generates_the_same_images_from_disk(sample_dataset, monkeypatch, capsys, plate,
                                                                    weight):
    in_memory = GenNearest(sample_dataset, temporal_weight=weight, plate=plate)
    assert in_memory.in_memory and in_memory.images is not None
    assert "NEAREST_MEMORY_BYTES" not in capsys.readouterr().out   # below the limit: nothing said

    monkeypatch.setattr(gn, "NEAREST_MEMORY_BYTES", 1000)
    reads = count_reads(monkeypatch, sample_dataset)
    on_disk = GenNearest(sample_dataset, temporal_weight=weight, plate=plate)
    assert reads["image"] <= 1 and reads["mask"] <= 1   # the shape and the mask's presence, nothing more
    assert not on_disk.in_memory and on_disk.images is None and on_disk.opacities is None
    assert on_disk.plate == in_memory.plate
    said = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(said) == 1 and "NEAREST_MEMORY_BYTES" in said[0] and "from disk" in said[0]

    box = sample_dataset.crop_boxes[3] if sample_dataset.crop_boxes is not None else None
    for query in queries(sample_dataset):
        assert np.array_equal(on_disk.generate(query), in_memory.generate(query))
        assert on_disk.last_distance == in_memory.last_distance
    assert np.array_equal(on_disk.generate(queries(sample_dataset)[0], box),
                          in_memory.generate(queries(sample_dataset)[0], box))
    assert capsys.readouterr().out == ""   # told once, at the start


def test_the_limits_are_inclusive(sample_dataset, monkeypatch):
    side = sample_dataset.image_size
    needed = GenNearest(sample_dataset, preload=False).memory_needed()
    assert needed == len(sample_dataset) * side * side * (3 + 1)   # crops and opacities
    monkeypatch.setattr(gn, "NEAREST_MEMORY_BYTES", needed)
    assert GenNearest(sample_dataset).in_memory
    monkeypatch.setattr(gn, "NEAREST_MEMORY_BYTES", needed - 1)
    assert not GenNearest(sample_dataset).in_memory

    needed = len(sample_dataset) * SIZE * SIZE * 3
    monkeypatch.setattr(data_module, "DATASET_MEMORY_BYTES", needed)
    assert VideoSkeletonDataset(sample_dataset, image_size=SIZE).in_memory
    monkeypatch.setattr(data_module, "DATASET_MEMORY_BYTES", needed - 1)
    assert not VideoSkeletonDataset(sample_dataset, image_size=SIZE).in_memory


def test_nearest_on_disk_keeps_the_last_frames_and_returns_copies(sample_dataset, monkeypatch):
    monkeypatch.setattr(gn, "NEAREST_MEMORY_BYTES", 0)
    gen = GenNearest(sample_dataset)
    reads = count_reads(monkeypatch, sample_dataset)
    first = gen.generate(sample_dataset.ske[5])
    first[:] = 0   # a caller drawing on the result must not change the cached frame
    again = gen.generate(sample_dataset.ske[5])
    assert reads["image"] == 1   # a dancer holding still: read once
    assert np.array_equal(again, GenNearest(sample_dataset, preload=False).generate(sample_dataset.ske[5]))
    assert again.any()


def test_nearest_asked_not_to_preload_says_nothing(sample_dataset, monkeypatch, capsys):
    monkeypatch.setattr(gn, "NEAREST_MEMORY_BYTES", 0)
    GenNearest(sample_dataset, preload=False)   # the caller's own choice: no line
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------------- the training dataset
def item_tensors(dataset, idx, augment):
    torch.manual_seed(idx)   # the same random shift and scale on both paths
    return dataset.get(idx, augment=augment)


@pytest.mark.parametrize("opt", [1, 2])
@pytest.mark.parametrize("plate", [True, False])
def test_dataset_over_its_limit_reads_the_same_items_from_disk(sample_dataset, monkeypatch, capsys, opt, plate):
    if plate and not sample_dataset.has_plate:
        pytest.skip("the sample has no background plate")
    picks = np.arange(0, len(sample_dataset), 7)
    kwargs = dict(optSkeOrImage=opt, image_size=SIZE, indices=picks, plate=plate)
    in_memory = VideoSkeletonDataset(sample_dataset, **kwargs)
    assert in_memory.in_memory and in_memory.images.shape == (len(picks), SIZE, SIZE, 3)
    assert "DATASET_MEMORY_BYTES" not in capsys.readouterr().out

    monkeypatch.setattr(data_module, "DATASET_MEMORY_BYTES", 1000)
    reads = count_reads(monkeypatch, sample_dataset)
    on_disk = VideoSkeletonDataset(sample_dataset, **kwargs)
    assert reads == {"image": 0, "mask": 0}   # the memory needed is known before reading anything
    assert not on_disk.in_memory and on_disk.images is None
    said = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(said) == 1 and "DATASET_MEMORY_BYTES" in said[0] and "from disk" in said[0]
    assert on_disk.memory_needed() == in_memory.memory_needed() == len(picks) * SIZE * SIZE * (7 if plate else 3)

    assert len(on_disk) == len(in_memory)
    for idx in range(len(on_disk)):
        for augment in (False, True):
            source_a, target_a = item_tensors(on_disk, idx, augment)
            source_b, target_b = item_tensors(in_memory, idx, augment)
            assert torch.equal(source_a, source_b) and torch.equal(target_a, target_b)
        (_, image_a), (_, image_b) = on_disk.pair(idx, augment=False), in_memory.pair(idx, augment=False)
        assert np.array_equal(image_a, image_b)
    assert reads["image"] == 3 * len(picks)   # on demand: one read per item asked for


def test_dataset_on_disk_works_in_dataloader_workers(sample_dataset, monkeypatch):
    plate = bool(sample_dataset.has_plate)
    kwargs = dict(optSkeOrImage=2, image_size=SIZE, indices=np.arange(0, 40, 2), plate=plate)
    in_memory = VideoSkeletonDataset(sample_dataset, **kwargs)
    monkeypatch.setattr(data_module, "DATASET_MEMORY_BYTES", 0)
    on_disk = VideoSkeletonDataset(sample_dataset, **kwargs)
    assert not on_disk.in_memory
    # As DanceTrain.train makes it beside a GPU (loader_workers): worker processes read the items.
    loader = DataLoader(on_disk, batch_size=8, shuffle=False, num_workers=2, persistent_workers=True)
    batches = [batch for _ in range(2) for batch in loader]   # two epochs: the workers stay
    expected = list(DataLoader(in_memory, batch_size=8, shuffle=False))
    for (source, target), (source_m, target_m) in zip(batches, expected + expected):
        assert torch.equal(source, source_m) and torch.equal(target, target_m)
    assert len(batches) == 2 * len(expected)


def test_one_epoch_trains_the_same_weights_over_the_limit(small_vs, monkeypatch, seed):
    def one_epoch(model_dir):
        seed(0)
        gen = GenVanillaNN(small_vs, optSkeOrImage=2, image_size=SIZE, device="cpu", ngf=NGF, model_dir=model_dir)
        gen.train(1, batch_size=4, progress=False)
        return gen.netG.state_dict()

    expected = one_epoch(small_vs.directory + "/models_in_memory")
    monkeypatch.setattr(data_module, "DATASET_MEMORY_BYTES", 0)
    got = one_epoch(small_vs.directory + "/models_on_disk")
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)

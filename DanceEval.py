"""DanceEval: measured quality and speed of every generator on one prepared dataset.

    python DanceEval.py --data ../shared/data/taichi1     # the full run (trains the networks)
    python DanceEval.py --data data/my_target --quick     # a few epochs on a subset: checks the path

The dataset is split by time: the first 80 % of its frames train the networks, the last
20 % test every generator (neighbouring frames are near copies, so they are never shuffled
together). Each generator draws every test frame from that frame's real skeleton, and is
scored against the real frame:

    ssim, psnr      likeness to the real frame (both reward blur a little)
    pose_error      MediaPipe run on the generated image: mean distance of the 13 joints to
                    the input skeleton's, divided by the torso length; over the frames where a
                    pose is found. The real frames give the floor ("real").
    detect_rate     share of frames where MediaPipe finds a person
    flicker         mean change between consecutive generated frames / the same for the
                    real frames (1.0 = as steady as reality; jumps show as a large number)
    sharpness       mean variance of the Laplacian of the generated frames / of the real
                    ones (1.0 = as sharp as reality; a blurred image scores low)
    grid            how much a 2- and 4-pixel grid stands out in the spectrum (power at those
                    frequencies over the power around them), generated / real (1.0 = as clean as
                    reality; the checkerboard of transposed convolutions shows as more)
    ssim_person, psnr_person   where the dataset has masks: SSIM and PSNR inside the real
                    frame's person mask, grown by PERSON_GROW (a perfect background cannot hide
                    a poor person)

Beside each generator, the variants of --compare, each with one setting changed and the same
training budget, scored as NAME_VARIANT (VARIANTS): with a background plate, drawing the whole crop
as without one (noplate); with sharp crops, the GAN without its local enhancer (noenhancer: its
128 px person enlarged); the U-Net with residual blocks or self-attention at its middle (blocks,
attention).
    ms_per_frame    time of one generate() call
    train_seconds   training time of the network (0 for nearest)

Writes report.json, report.md and grid.png (real | stick figure | each generator) to --out.
"""
import argparse
import functools
import hashlib
import os
import time

import cv2
import numpy as np
from tqdm import tqdm

import DanceGenerators
from DanceReport import report_markdown, versions, write_report
from DanceUtils import DATA_DIR, DanceError, check_number, check_output_folder, fit_size, pick_device, run_cli, shown
from Skeleton import PoseDetector, reduced_joints, torso_length
from VideoSkeleton import VideoSkeleton, is_prepared_dataset

# The switches of `python DanceEval.py` (flags override them).
GENS = DanceGenerators.NAMES   # every generator of the registry
MINUTES = {"vanilla_ske": 3, "vanilla_image": 7, "gan": 50}  # training budgets of the full run (CPU minutes, 60 in all)
SEED = 0
# Inside the evaluation (rarely changed).
TRAIN_FRACTION = 0.8     # first 80 % of the frames train, the last 20 % test
QUICK_EPOCHS = 1
QUICK_ITEMS = 60         # --quick uses this many frames of the dataset (spread over it)
MIN_ITEMS = 10
POSE_PAD = 64            # MediaPipe misses people on small crops: pad by this many pixels...
POSE_UPSCALE = 3         # ...then enlarge this many times, for real and generated images alike
PASTE_SIZE = 256         # the person is also scored at this size (where the scene pastes it), when the dataset
                         # has sharp crops: against them; nearest from its sharp crops, the GAN from its enhancer,
                         # other networks' images enlarged
PERSON_GROW = 0.03       # the person's region: the real frame's mask grown by this fraction of the image side
# --compare: each generator also with one setting changed (NAME_VARIANT), where that setting means something.
VARIANTS = {"noplate": {"plate": False},          # the whole crop drawn, not the person over the plate
            "noenhancer": {"enhance": 0},         # GenGAN's 128 px person enlarged, not its local enhancer's
            "blocks": {"middle_blocks": 2},       # the U-Net with residual blocks at its middle
            "attention": {"attention": True}}     # the U-Net with self-attention at its middle
COMPARE = ("noplate", "noenhancer")


# ---------------------------------------------------------------------- measures
def detect_for_eval(detector, image):
    """Reduced joints (13, 2) in the image's own fractions, or None: detection on a padded, enlarged copy."""
    h, w = image.shape[:2]
    big = cv2.copyMakeBorder(image, POSE_PAD, POSE_PAD, POSE_PAD, POSE_PAD, cv2.BORDER_REPLICATE)
    big = cv2.resize(big, None, fx=POSE_UPSCALE, fy=POSE_UPSCALE, interpolation=cv2.INTER_CUBIC)
    found = detector.detect(big)
    if found is None:
        return None
    joints = reduced_joints(found.landmarks) * (w + 2 * POSE_PAD, h + 2 * POSE_PAD)
    return (joints - POSE_PAD) / (w, h)


def pose_scores(detector, images, skeletons):
    """(pose_error, detect_rate): MediaPipe on `images` against the skeletons that made them."""
    errors = []
    for image, ske in zip(images, skeletons):
        found = detect_for_eval(detector, image)
        if found is not None:
            truth = reduced_joints(ske.landmarks)
            errors.append(np.linalg.norm(found - truth, axis=1).mean() / max(torso_length(truth), 1e-6))
    rate = len(errors) / max(len(images), 1)
    return (float(np.mean(errors)) if errors else None), rate


def grid_energy(images):
    """How much a regular grid of 2 and 4 pixels stands out in the images' spectra (grey levels).

    The checkerboard of transposed convolutions puts energy at exactly those frequencies, above
    the spectrum around them. For each grid frequency: its power over the mean power of its 8
    neighbouring frequencies; the mean of that ratio over the grid frequencies and the images.
    A ratio, not a share of the total, so that a blurred image (less energy at every high
    frequency) does not look cleaner than a sharp one.
    """
    ratios = []
    for image in images:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)
        power = np.abs(np.fft.fft2(grey - grey.mean())) ** 2
        h, w = grey.shape
        around = sum(np.roll(power, (dy, dx), axis=(0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                     if (dy, dx) != (0, 0)) / 8
        for y in sorted({0, h // 4, h // 2, 3 * h // 4}):
            for x in sorted({0, w // 4, w // 2, 3 * w // 4}):
                if (y, x) != (0, 0):
                    ratios.append(power[y, x] / max(around[y, x], 1e-12))
    return float(np.mean(ratios))


def person_sharpness(images, masks):
    """The mean variance of the Laplacian inside the person's region (masks, bool) of each image."""
    return float(np.mean([cv2.Laplacian(cv2.cvtColor(i, cv2.COLOR_BGR2GRAY), cv2.CV_64F)[m].var()
                          for i, m in zip(images, masks)]))


def image_scores(generated, real, masks=None):
    """ssim, psnr, flicker, sharpness and grid of generated frames against the real ones (lists of BGR
    uint8); with masks (the real frames' person masks, bool), ssim_person, psnr_person and sharpness_person
    inside them."""
    import torch
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    to_tensor = lambda images: torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
    fake, true = to_tensor(generated), to_tensor(real)
    ssim, ssim_map = structural_similarity_index_measure(fake, true, data_range=1.0, return_full_image=True)
    psnr = peak_signal_noise_ratio(fake, true, data_range=1.0).item()
    person = {}
    if masks is not None:   # the person apart: a perfect background must not hide a poor person
        inside = torch.from_numpy(np.stack(masks))[:, None].expand_as(fake)
        squared = ((fake - true) ** 2)[inside].mean().item()
        person = {"ssim_person": ssim_map[inside].mean().item(),
                  "psnr_person": 10 * np.log10(1.0 / max(squared, 1e-10)),
                  "sharpness_person": person_sharpness(generated, masks) / max(person_sharpness(real, masks), 1e-6)}

    def change(images):
        stack = np.stack(images).astype(np.float32)
        return float(np.abs(np.diff(stack, axis=0)).mean())

    def laplacian_variance(images):
        return float(np.mean([cv2.Laplacian(cv2.cvtColor(i, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var() for i in images]))

    flicker = change(generated) / max(change(real), 1e-6)
    sharpness = laplacian_variance(generated) / max(laplacian_variance(real), 1e-6)
    grid = grid_energy(generated) / max(grid_energy(real), 1e-12)
    return dict({"ssim": ssim.item(), "psnr": psnr, "flicker": flicker, "sharpness": sharpness, "grid": grid},
                **person)


# ---------------------------------------------------------------------- generators
def split_signature(dataset, train_items):
    """What a network trained on this split records, so that a later run can reuse it."""
    frames = dataset.frame[train_items]
    digest = hashlib.sha1(frames.astype(np.int64).tobytes()).hexdigest()[:16]
    return {"dataset": os.path.abspath(dataset.directory), "n_train": int(len(train_items)), "frames_sha1": digest}


def trained_generator(name, dataset, train_items, budget, size, device, model_dir, on_epoch, progress=True,
                      plate=False, seed=SEED, *, upsample, notes=None, options=None):
    """The network `name` trained on the training split within `budget`; reused when already done.

    budget: {"epochs": n} or {"minutes": m}. on_epoch(gen) is called after every epoch (the
    quality-against-time curve). A model file records its split, budget and settings, so a
    later run reuses it only when all are the same (a changed recipe trains again).
    upsample: the U-Net decoder's enlargement (one of DanceNetworks.UPSAMPLINGS).
    notes: more to record in the model file once trained (read when the file is saved, after training).
    options: more settings of the network (a variant's: VARIANTS).
    """
    import torch

    options = dict(size=size, device=device, model_dir=model_dir, plate=plate, upsample=upsample, **(options or {}))
    gen = DanceGenerators.make(name, dataset, load=False, **options)
    recipe = dict(split_signature(dataset, train_items), budget=budget, network=gen.network_settings,
                  training=gen.training_settings(), seed=seed)
    if os.path.isfile(gen.filename):
        try:
            gen.load()
            if gen.loaded_settings.get("notes", {}).get("recipe") == recipe:
                return gen
        except DanceError:
            pass  # an unusable file is trained again
    torch.manual_seed(seed)
    np.random.seed(seed)
    gen = DanceGenerators.make(name, dataset, load=False, **options)
    max_seconds = 60 * budget["minutes"] if "minutes" in budget else None
    gen.train(budget.get("epochs", 10_000), restart=True, indices=train_items, progress=progress,
              max_seconds=max_seconds, after_epoch=on_epoch)
    # Recorded once the budget is spent: the model of an interrupted run is not reused.
    gen.notes.update(notes or {}, recipe=recipe)
    gen.save()
    return gen


def run_generator(gen, split, size=None):
    """Generated test frames at `size` (default: the split's) and milliseconds per frame. A generator that
    draws over the plate draws each frame over the plate's crop at that frame's box. One with a sharp person
    (sharp_size: GenNearest's sharp crops, GenGAN's enhancer) draws it at a size above its dataset's; any
    other's images are resized (enlarged)."""
    size = size or split.size
    if hasattr(gen, "reset"):
        gen.reset()
    over_plate = getattr(gen, "plate", False) and split.boxes is not None
    sharp = {"size": size} if size > split.size and getattr(gen, "sharp_size", 0) else {}
    generate = (lambda k: gen.generate(split.skeletons[k], box=split.boxes[k], view=split.views[k], **sharp)) \
        if over_plate else (lambda k: gen.generate(split.skeletons[k], **sharp))
    generate(0)  # warm-up: the first call pays for lazy initialisation
    start = time.perf_counter()
    images = [generate(k) for k in range(len(split.skeletons))]
    ms = 1000 * (time.perf_counter() - start) / len(images)
    return [fit_size(image, size) for image in images], ms


def person_region(mask, size):
    """The person's region (bool, size x size) from their mask, grown a little (edges, hair, shadow)."""
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * round(PERSON_GROW * size) + 1,) * 2)
    return cv2.dilate((fit_size(mask, size) > 127).astype(np.uint8), grow) > 0


class HeldOut:
    """The time split of a dataset: the first TRAIN_FRACTION trains, the rest tests (real frames at `size`)."""

    def __init__(self, dataset, quick, size):
        if quick:  # a subset spread over the whole dataset keeps the time order
            keep = np.linspace(0, len(dataset) - 1, min(QUICK_ITEMS, len(dataset))).round().astype(int)
            dataset = dataset.subset(np.unique(keep))
        self.dataset, self.size = dataset, size
        n_train = int(round(TRAIN_FRACTION * len(dataset)))
        self.train_items, test_items = np.arange(n_train), np.arange(n_train, len(dataset))
        self.test = dataset.subset(test_items)
        self.skeletons = self.test.ske
        self.real = [fit_size(self.test.readImage(i), size) for i in range(len(self.test))]
        self.boxes = self.test.crop_boxes if getattr(dataset, "has_plate", False) else None
        self.views = [self.test.view(i) for i in range(len(self.test))] if self.boxes is not None else None
        self.masks = None
        if self.test.readMask(0) is not None:
            self.masks = [person_region(self.test.readMask(i), size) for i in range(len(self.test))]
        # Where the scene pastes the person: PASTE_SIZE, against the sharp crops (when the dataset has them).
        self.paste = min(PASTE_SIZE, dataset.high_size) if getattr(dataset, "high_size", 0) > size else None
        if self.paste:
            self.real_paste = [fit_size(self.test.readHighImage(i), self.paste) for i in range(len(self.test))]
            self.masks_paste = [person_region(self.test.readHighMask(i), self.paste) for i in range(len(self.test))]


def budget_for(name, epochs, quick, minutes, gens=GENS):
    """How long network `name` trains: {"epochs": n} (given, or --quick) or {"minutes": m}: its share of
    `minutes` among the networks of `gens` (each variant of it the same); None for what does not
    train (nearest)."""
    if name not in MINUTES:
        return None
    if epochs is not None or quick:
        return {"epochs": epochs or QUICK_EPOCHS}
    share = 1.0 if minutes is None else minutes / sum(MINUTES[gen] for gen in gens if gen in MINUTES)
    return {"minutes": round(MINUTES[name] * share, 2)}


def applies(variant, name, split):
    """Whether the variant changes something for generator `name` on this split (see VARIANTS)."""
    if variant == "noplate":
        return split.boxes is not None
    if variant == "noenhancer":
        return name == "gan" and bool(split.paste)
    return name in ("vanilla_image", "gan")   # the U-Net's options


def record_curve(points, split, gen):
    """After each training epoch: the network's held-out quality, appended to `points`."""
    images, _ = run_generator(gen, split)
    scores = image_scores(images, split.real)
    points.append({"minutes": gen.train_seconds / 60, "epoch": gen.epochs_done,
                   "ssim": scores["ssim"], "psnr": scores["psnr"], "sharpness": scores["sharpness"]})


def prepared_generator(name, split, budget, device, model_dir, progress, options, seed=SEED, *, upsample):
    """(generator, its training curve) for `name`: nearest on the training frames, or a network
    trained on them within `budget` (or reused from model_dir when trained so before), with the
    settings `options` (plate: over the background plate or not; a variant's) and the decoder `upsample`."""
    options = dict(options)
    plate = options.pop("plate")
    if name == "nearest":
        return DanceGenerators.make("nearest", split.dataset.subset(split.train_items), plate=plate), []
    curve = []
    gen = trained_generator(name, split.dataset, split.train_items, budget, split.size, device, model_dir,
                            functools.partial(record_curve, curve, split), progress, plate, seed,
                            upsample=upsample, notes={"curve": curve}, options=options)   # its curve kept with it
    if curve:
        return gen, curve
    return gen, gen.loaded_settings.get("notes", {}).get("curve", [])   # reused: the curve of its training


def scores_of(gen, split, detector):
    """(generated test frames, the generator's measures)."""
    images, ms = run_generator(gen, split)
    error, rate = pose_scores(detector, images, split.skeletons)
    scores = dict(image_scores(images, split.real, split.masks), pose_error=error, detect_rate=rate,
                  ms_per_frame=ms, train_seconds=float(getattr(gen, "train_seconds", 0.0)))
    if split.paste:   # the person where the scene pastes it, against the sharp crops
        # A generator with a sharp person draws again at that size; any other's images are only enlarged.
        pasted, paste_ms = (run_generator(gen, split, split.paste) if getattr(gen, "sharp_size", 0) else
                            ([fit_size(image, split.paste) for image in images], ms))
        at_paste = image_scores(pasted, split.real_paste, split.masks_paste)
        scores["at_paste"] = {key: at_paste[key] for key in ("ssim_person", "psnr_person", "sharpness_person")}
        scores["at_paste"].update(pose_error=pose_scores(detector, pasted, split.skeletons)[0], ms_per_frame=paste_ms)
    return images, scores


def evaluate(dataset_dir, out_dir=None, gens=GENS, epochs=None, device=None, quick=False, size=None, progress=True,
             extra=None, minutes=None, seed=SEED, upsample=None, compare=COMPARE):
    """Train (or reuse) and evaluate `gens` on dataset_dir; returns the report (also written to out_dir).

    extra: {name: generator} of ready generators to score beside them (anything with generate(ske)).
    minutes: total training minutes, shared among the networks as MINUTES shares them (default: MINUTES).
    seed: the networks' random start (another seed measures the run-to-run noise).
    upsample: the U-Net decoder of the networks (DanceNetworks.UPSAMPLINGS; None: GenVanilla.UPSAMPLE).
    compare: the variants (VARIANTS) scored beside each generator, where they change something.
    """
    if minutes is not None:
        check_number("--minutes", minutes)
    if not os.path.exists(dataset_dir):
        raise DanceError(f"{dataset_dir}: no such dataset directory")
    if not is_prepared_dataset(dataset_dir):
        raise DanceError(f"{dataset_dir}: not a prepared dataset (no landmarks.npz); "
                         f"prepare a video with: python VideoSkeleton.py VIDEO")
    for name in gens:
        DanceGenerators.find(name, flag="--gens")
    for variant in compare:
        if variant not in VARIANTS:
            raise DanceError(f"--compare {variant}: not a variant; choose from {', '.join(VARIANTS)}")
    from DanceNetworks import check_upsample
    from GenVanilla import UPSAMPLE
    upsample = check_upsample(upsample or UPSAMPLE)
    dataset = VideoSkeleton(dataset_dir)
    if len(dataset) < MIN_ITEMS:
        raise DanceError(f"{dataset_dir}: only {len(dataset)} frames; an evaluation needs at least {MIN_ITEMS}")
    out_dir = out_dir or default_out(dataset_dir)
    check_output_folders(out_dir, dataset_dir)
    device = pick_device(device)
    split = HeldOut(dataset, quick, size or dataset.image_size)

    report = {"dataset": os.path.basename(os.path.abspath(dataset_dir)), "device": str(device),
              "image_size": split.size,
              "paste_size": split.paste,
              "n_train": int(len(split.train_items)), "n_test": int(len(split.test)), "quick": bool(quick),
              "train_fraction": TRAIN_FRACTION,
              "seed": seed, "upsample": upsample,
              "pose_preprocessing": f"{POSE_PAD} px replicated border, then {POSE_UPSCALE}x bicubic enlargement, "
                                    f"MediaPipe Pose static mode, model_complexity 1",
              "generators": {}, "real": {}, "versions": versions(device)}
    outputs, curves = {}, {}
    extra = extra or {}
    # Each generator, then each variant of it that changes something, with the same budget.
    plate = {"plate": split.boxes is not None}
    variants = [(name, name, plate) for name in gens]
    variants += [(f"{name}_{variant}", name, dict(plate, **VARIANTS[variant]))
                 for variant in compare for name in gens if applies(variant, name, split)]
    names = [variant[0] for variant in variants] + list(extra)
    bar = tqdm(["real"] + names, desc="evaluating", unit="generator", disable=not progress)
    detector = PoseDetector(static_image_mode=True)
    try:
        error, rate = pose_scores(detector, split.real, split.skeletons)   # the floor: the real frames
        report["real"] = {"pose_error": error, "detect_rate": rate}
        bar.update()
        for name, base, options in variants:
            bar.set_postfix_str(name)
            models = os.path.join(out_dir, "models" + name[len(base):])   # models, models_noplate...
            gen, curves[name] = prepared_generator(base, split, budget_for(base, epochs, quick, minutes, gens),
                                                   device, models, progress, options, seed, upsample=upsample)
            outputs[name], report["generators"][name] = scores_of(gen, split, detector)
            bar.update()
        for name, gen in extra.items():
            bar.set_postfix_str(name)
            outputs[name], report["generators"][name] = scores_of(gen, split, detector)
            bar.update()
    finally:
        detector.close()
        bar.close()
    report["training_curves"] = {name: points for name, points in curves.items() if points}
    write_report(out_dir, report, split, outputs)
    return report


def check_output_folders(out_dir, dataset_dir):
    """Before any work: out_dir, and the models folders in it where the networks are trained, can hold
    the outputs; out_dir neither holds the dataset nor lies inside it (its files are the data)."""
    check_output_folder(out_dir, inputs=[dataset_dir], input_folders=[dataset_dir])
    for models in ["models"] + [f"models_{variant}" for variant in VARIANTS]:   # a file in their way would stop
                                                                                # the run after an epoch
        check_output_folder(os.path.join(out_dir, models))


def default_out(dataset_dir):
    """data/eval/<dataset name>/ in the project's data folder."""
    return shown(os.path.join(DATA_DIR, "eval", os.path.basename(os.path.normpath(dataset_dir))))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Held-out quality and speed of every generator on one prepared dataset.")
    parser.add_argument("--data", default=None,
                        help="a prepared dataset directory (python VideoSkeleton.py VIDEO makes one)")
    parser.add_argument("dataset", nargs="?", default=None, help=argparse.SUPPRESS)   # the older spelling
    parser.add_argument("--out", default=None, help="output folder (default: data/eval/<dataset name>)")
    parser.add_argument("--gens", default=",".join(GENS), help="comma-separated generators (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"epochs in all for every network, trained from scratch (default: train for the "
                             f"minutes {MINUTES}; {QUICK_EPOCHS} with --quick)")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the fastest available)")
    parser.add_argument("--size", type=int, default=None, help="image size (default: the dataset's)")
    parser.add_argument("--minutes", type=float, default=None,
                        help=f"total training minutes, shared among the networks of --gens as {MINUTES} shares them "
                             f"(default: {sum(MINUTES.values())} for all)")
    parser.add_argument("--seed", type=int, default=SEED,
                        help="the networks' random start (default: %(default)s); another seed, same command: "
                             "the run-to-run noise")
    parser.add_argument("--compare", default=",".join(COMPARE),
                        help=f"variants scored beside each generator where they change something, comma-separated, "
                             f"from {', '.join(VARIANTS)} (default: %(default)s; '' for none)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_EPOCHS} epoch on {QUICK_ITEMS} frames: checks the whole path in a minute")
    args = parser.parse_args(argv)
    if args.data and args.dataset and args.data != args.dataset:
        raise DanceError(f"two datasets given ({args.data} and {args.dataset}): give one, with --data")
    args.dataset = args.data or args.dataset
    if args.dataset is None:
        parser.error("give the dataset to evaluate with --data DIR")
    if args.size is not None:
        from ModelFile import power_of_two_levels
        power_of_two_levels(args.size)
    args.out = args.out or default_out(args.dataset)
    check_output_folders(args.out, args.dataset)
    if args.epochs is not None and args.epochs < 1:
        raise DanceError(f"--epochs {args.epochs}: must be 1 or more")
    gens = [g.strip() for g in args.gens.split(",") if g.strip()]
    pick_device(args.device)   # evaluate() checks --minutes (nan or inf: a budget that never runs out)
    report = evaluate(args.dataset, args.out, gens, args.epochs, args.device, args.quick, args.size,
                      minutes=args.minutes, seed=args.seed,
                      compare=[v.strip() for v in args.compare.split(",") if v.strip()])
    print(report_markdown(report))
    print(f"wrote {os.path.join(args.out, 'report.json')}, report.md and grid.png")
    return 0


if __name__ == "__main__":
    run_cli(main)

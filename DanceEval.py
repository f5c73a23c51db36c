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

With a background plate, every generator is scored twice, with the same training budget: drawing
the person over the plate (NAME), and drawing the whole crop as without a plate (NAME_noplate).
    ms_per_frame    time of one generate() call
    train_seconds   training time of the network (0 for nearest)

Writes report.json, report.md and grid.png (real | stick figure | each generator) to --out.
"""
import argparse
import functools
import hashlib
import json
import os
import platform
import time

import cv2
import numpy as np
from tqdm import tqdm

import DanceGenerators
from DanceUtils import (DATA_DIR, DanceError, atomic_path, check_number, check_output_folder, fit_size, pick_device,
                        run_cli, shown, write_image)
from Skeleton import PoseDetector, draw_stick_figure, reduced_joints, torso_length
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
GRID_ITEMS = 8
PASTE_SIZE = 256         # the person is also scored at this size (where the scene pastes it), when the dataset
                         # has sharp crops: against them, networks of 128 px enlarged, nearest from its sharp crops
PERSON_GROW = 0.03       # the person's region: the real frame's mask grown by this fraction of the image side
NOPLATE = "_noplate"     # a generator drawing the whole crop, scored beside the one drawing over the plate


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
                      plate=False, seed=SEED, *, upsample, notes=None):
    """The network `name` trained on the training split within `budget`; reused when already done.

    budget: {"epochs": n} or {"minutes": m}. on_epoch(gen) is called after every epoch (the
    quality-against-time curve). A model file records its split, budget and settings, so a
    later run reuses it only when all are the same (a changed recipe trains again).
    upsample: the U-Net decoder's enlargement (one of GenVanilla.UPSAMPLINGS).
    notes: more to record in the model file once trained (read when the file is saved, after training).
    """
    import torch

    options = dict(size=size, device=device, model_dir=model_dir, plate=plate, upsample=upsample)
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
    draws over the plate draws each frame over the plate's crop at that frame's box. One with sharp crops
    (GenNearest) gives them at a size above its dataset's; any other's images are resized (enlarged)."""
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


# ---------------------------------------------------------------------- the report
def versions(device):
    import mediapipe
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "mediapipe": mediapipe.__version__,
            "opencv": cv2.__version__, "device": str(device), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}


def write_text(path, text):
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)


def report_markdown(report):
    lines = [f"# DanceEval: {report['dataset']}", "",
             f"{report['image_size']} px, {report['n_train']} training frames, {report['n_test']} test frames "
             f"(the last {100 - round(100 * TRAIN_FRACTION)} %), device {report['device']}, "
             f"seed {report.get('seed', SEED)}"
             + (f", decoder {report['upsample']}" if "upsample" in report else "")
             + (", quick run" if report.get("quick") else ""), "",
             "| generator | SSIM | PSNR | SSIM person | PSNR person | pose error | detect rate | flicker | sharpness "
             "| grid | ms/frame | train s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda v, f: "-" if v is None else format(v, f)
    for name, g in report["generators"].items():
        lines.append(f"| {name} | {fmt(g['ssim'], '.3f')} | {fmt(g['psnr'], '.2f')} | {fmt(g.get('ssim_person'), '.3f')} "
                     f"| {fmt(g.get('psnr_person'), '.2f')} | {fmt(g['pose_error'], '.3f')} | "
                     f"{fmt(g['detect_rate'], '.2f')} | {fmt(g['flicker'], '.2f')} | {fmt(g['sharpness'], '.2f')} | "
                     f"{fmt(g.get('grid'), '.2f')} | {fmt(g['ms_per_frame'], '.1f')} | {fmt(g['train_seconds'], '.0f')} |")
    real = report["real"]
    lines.append(f"| real frames (floor) | 1 | inf | 1 | inf | {fmt(real['pose_error'], '.3f')} | "
                 f"{fmt(real['detect_rate'], '.2f')} | 1 | 1 | 1 | | |")
    if report.get("paste_size"):
        size = report["paste_size"]
        lines += ["", f"The person at {size} px, where the scene pastes it, against the dataset's sharp crops "
                      f"(networks: their {report['image_size']} px image enlarged; nearest: its sharp crops):", "",
                  "| generator | SSIM person | PSNR person | sharpness person |", "|---|---|---|---|"]
        for name, g in report["generators"].items():
            paste = g.get("at_paste", {})
            lines.append(f"| {name} | {fmt(paste.get('ssim_person'), '.3f')} | {fmt(paste.get('psnr_person'), '.2f')} "
                         f"| {fmt(paste.get('sharpness_person'), '.2f')} |")
    lines += ["", f"Pose detection: {report['pose_preprocessing']}.", "",
              "Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()), ""]
    return "\n".join(lines)


def save_training_curves(path, curves, report):
    """Quality on the test frames against training minutes, one line per network (PNG).

    Drawn as DanceTrain.save_loss_curve draws: a matplotlib Figure without pyplot (no global state,
    no window), one panel per measure, light grid."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 3.8))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 3)
    nearest = report["generators"].get("nearest")
    for ax, key in zip(axes, ("ssim", "psnr", "sharpness")):
        for name, points in curves.items():
            if points:
                ax.plot([p["minutes"] for p in points], [p[key] for p in points], marker=".", label=name)
        if nearest:
            ax.axhline(nearest[key], color="grey", linestyle="--", label="nearest")
        ax.set_xlabel(f"training minutes ({report['device']})")
        ax.set_title(key)
        ax.grid(alpha=0.3)
    axes[0].legend()
    figure.suptitle(f"{report['dataset']}: held-out quality while training", fontsize=10)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100)


def comparison_grid(real, skeletons, outputs, items, size):
    """One row per test frame: real | stick figure | each generator, with a header naming the columns."""
    names = ["real", "stick figure"] + list(outputs)
    rows = []
    for i in items:
        figure = np.zeros((size, size, 3), np.uint8)
        draw_stick_figure(figure, skeletons[i].reduce())
        rows.append(np.hstack([real[i], figure] + [outputs[name][i] for name in outputs]))
    header = np.full((22, size * len(names), 3), 255, np.uint8)
    for k, name in enumerate(names):
        cv2.putText(header, name, (k * size + 4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([header] + rows)


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


def budget_for(name, epochs, quick, minutes):
    """How long network `name` trains: {"epochs": n} (given, or --quick) or {"minutes": m} (its share);
    None for what does not train (nearest)."""
    if name not in MINUTES:
        return None
    if epochs is not None or quick:
        return {"epochs": epochs or QUICK_EPOCHS}
    share = 1.0 if minutes is None else minutes / sum(MINUTES.values())
    return {"minutes": round(MINUTES[name] * share, 2)}


def record_curve(points, split, gen):
    """After each training epoch: the network's held-out quality, appended to `points`."""
    images, _ = run_generator(gen, split)
    scores = image_scores(images, split.real)
    points.append({"minutes": gen.train_seconds / 60, "epoch": gen.epochs_done,
                   "ssim": scores["ssim"], "psnr": scores["psnr"], "sharpness": scores["sharpness"]})


def prepared_generator(name, split, budget, device, model_dir, progress, plate, seed=SEED, *, upsample):
    """(generator, its training curve) for `name`: nearest on the training frames, or a network
    trained on them within `budget` (or reused from model_dir when trained so before); over the
    background plate or not (`plate`), with the decoder `upsample`."""
    if name == "nearest":
        return DanceGenerators.make("nearest", split.dataset.subset(split.train_items), plate=plate), []
    curve = []
    gen = trained_generator(name, split.dataset, split.train_items, budget, split.size, device, model_dir,
                            functools.partial(record_curve, curve, split), progress, plate, seed,
                            upsample=upsample, notes={"curve": curve})   # trained now: its curve kept with it
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
        # A generator with sharp crops draws again at that size; any other's images are only enlarged.
        pasted = (run_generator(gen, split, split.paste)[0] if getattr(gen, "sharp_size", 0) else
                  [fit_size(image, split.paste) for image in images])
        at_paste = image_scores(pasted, split.real_paste, split.masks_paste)
        scores["at_paste"] = {key: at_paste[key] for key in ("ssim_person", "psnr_person", "sharpness_person")}
    return images, scores


def evaluate(dataset_dir, out_dir=None, gens=GENS, epochs=None, device=None, quick=False, size=None, progress=True,
             extra=None, minutes=None, seed=SEED, upsample=None):
    """Train (or reuse) and evaluate `gens` on dataset_dir; returns the report (also written to out_dir).

    extra: {name: generator} of ready generators to score beside them (anything with generate(ske)).
    minutes: total training minutes, shared among the networks as MINUTES shares them (default: MINUTES).
    seed: the networks' random start (another seed measures the run-to-run noise).
    upsample: the U-Net decoder of the networks (GenVanilla.UPSAMPLINGS; None: GenVanilla.UPSAMPLE).
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
    from GenVanilla import UPSAMPLE, check_upsample
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
              "seed": seed, "upsample": upsample,
              "pose_preprocessing": f"{POSE_PAD} px replicated border, then {POSE_UPSCALE}x bicubic enlargement, "
                                    f"MediaPipe Pose static mode, model_complexity 1",
              "generators": {}, "real": {}, "versions": versions(device)}
    outputs, curves = {}, {}
    extra = extra or {}
    # With a plate, every generator twice, with the same budget: over the plate, and as NAME_noplate
    # (drawing the whole crop, as without a plate).
    variants = [(name, name, True) for name in gens]
    if split.boxes is not None:
        variants += [(name + NOPLATE, name, False) for name in gens]
    else:
        variants = [(name, name, False) for name in gens]
    names = [variant[0] for variant in variants] + list(extra)
    bar = tqdm(["real"] + names, desc="evaluating", unit="generator", disable=not progress)
    detector = PoseDetector(static_image_mode=True)
    try:
        error, rate = pose_scores(detector, split.real, split.skeletons)   # the floor: the real frames
        report["real"] = {"pose_error": error, "detect_rate": rate}
        bar.update()
        for name, base, plate in variants:
            bar.set_postfix_str(name)
            models = os.path.join(out_dir, "models" + ("" if plate or split.boxes is None else NOPLATE))
            gen, curves[name] = prepared_generator(base, split, budget_for(base, epochs, quick, minutes), device,
                                                   models, progress, plate, seed, upsample=upsample)
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


def write_report(out_dir, report, split, outputs):
    """report.json, report.md, grid.png and (when networks were trained) training_curve.png in out_dir."""
    os.makedirs(out_dir, exist_ok=True)
    items = np.linspace(0, len(split.test) - 1, min(GRID_ITEMS, len(split.test))).round().astype(int)
    write_image(os.path.join(out_dir, "grid.png"),
                comparison_grid(split.real, split.skeletons, outputs, items, split.size))
    if any(report["training_curves"].values()):
        save_training_curves(os.path.join(out_dir, "training_curve.png"), report["training_curves"], report)
    write_text(os.path.join(out_dir, "report.md"), report_markdown(report))
    write_text(os.path.join(out_dir, "report.json"), json.dumps(report, indent=2) + "\n")


def check_output_folders(out_dir, dataset_dir):
    """Before any work: out_dir, and the models folders in it where the networks are trained, can hold
    the outputs; out_dir neither holds the dataset nor lies inside it (its files are the data)."""
    check_output_folder(out_dir, inputs=[dataset_dir], input_folders=[dataset_dir])
    for models in ("models", "models" + NOPLATE):   # a file in their way would stop the run after an epoch
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
                        help=f"total training minutes, shared as {MINUTES} shares them (default: {sum(MINUTES.values())})")
    parser.add_argument("--seed", type=int, default=SEED,
                        help="the networks' random start (default: %(default)s); another seed, same command: "
                             "the run-to-run noise")
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
                      minutes=args.minutes, seed=args.seed)
    print(report_markdown(report))
    print(f"wrote {os.path.join(args.out, 'report.json')}, report.md and grid.png")
    return 0


if __name__ == "__main__":
    run_cli(main)

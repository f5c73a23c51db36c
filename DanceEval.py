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
from DanceUtils import (DATA_DIR, DanceError, atomic_path, check_output_folder, pick_device, run_cli, shown,
                        write_image)
from Skeleton import PoseDetector, draw_stick_figure, reduced_joints, torso_length
from VideoSkeleton import VideoSkeleton, is_prepared_dataset

# Defaults of `python DanceEval.py` (command-line flags override them).
GENS = DanceGenerators.NAMES   # every generator of the registry
TRAIN_FRACTION = 0.8     # first 80 % of the frames train, the last 20 % test
MINUTES = {"vanilla_ske": 3, "vanilla_image": 7, "gan": 50}  # training budgets of the full run (CPU minutes, 60 in all)
QUICK_EPOCHS = 1
QUICK_ITEMS = 60         # --quick uses this many frames of the dataset (spread over it)
MIN_ITEMS = 10
POSE_PAD = 64            # MediaPipe misses people on small crops: pad by this many pixels...
POSE_UPSCALE = 3         # ...then enlarge this many times, for real and generated images alike
GRID_ITEMS = 8
SEED = 0


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


def image_scores(generated, real):
    """ssim, psnr, flicker and sharpness of generated frames against the real ones (lists of BGR uint8)."""
    import torch
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    to_tensor = lambda images: torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
    fake, true = to_tensor(generated), to_tensor(real)
    ssim = structural_similarity_index_measure(fake, true, data_range=1.0).item()
    psnr = peak_signal_noise_ratio(fake, true, data_range=1.0).item()

    def change(images):
        stack = np.stack(images).astype(np.float32)
        return float(np.abs(np.diff(stack, axis=0)).mean())

    def laplacian_variance(images):
        return float(np.mean([cv2.Laplacian(cv2.cvtColor(i, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var() for i in images]))

    flicker = change(generated) / max(change(real), 1e-6)
    sharpness = laplacian_variance(generated) / max(laplacian_variance(real), 1e-6)
    return {"ssim": ssim, "psnr": psnr, "flicker": flicker, "sharpness": sharpness}


# ---------------------------------------------------------------------- generators
def split_signature(dataset, train_items):
    """What a network trained on this split records, so that a later run can reuse it."""
    frames = dataset.frame[train_items]
    digest = hashlib.sha1(frames.astype(np.int64).tobytes()).hexdigest()[:16]
    return {"dataset": os.path.abspath(dataset.directory), "n_train": int(len(train_items)), "frames_sha1": digest}


def trained_generator(name, dataset, train_items, budget, size, device, model_dir, on_epoch, progress=True):
    """The network `name` trained on the training split within `budget`; reused when already done.

    budget: {"epochs": n} or {"minutes": m}. on_epoch(gen) is called after every epoch (the
    quality-against-time curve). A model file records its split, budget and settings, so a
    later run reuses it only when all are the same (a changed recipe trains again).
    """
    import torch

    gen = DanceGenerators.make(name, dataset, load=False, size=size, device=device, model_dir=model_dir)
    recipe = dict(split_signature(dataset, train_items), budget=budget, network=gen.network_settings,
                  training=gen.training_settings())
    if os.path.isfile(gen.filename):
        try:
            gen.load()
            if gen.loaded_settings.get("notes", {}).get("recipe") == recipe:
                return gen
        except DanceError:
            pass  # an unusable file is trained again
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    gen = DanceGenerators.make(name, dataset, load=False, size=size, device=device, model_dir=model_dir)
    gen.notes["recipe"] = recipe
    max_seconds = 60 * budget["minutes"] if "minutes" in budget else None
    gen.train(budget.get("epochs", 10_000), restart=True, indices=train_items, progress=progress,
              max_seconds=max_seconds, after_epoch=on_epoch)
    return gen


def run_generator(gen, skeletons, size):
    """Generated test frames (resized to the dataset's size) and milliseconds per frame."""
    if hasattr(gen, "reset"):
        gen.reset()
    gen.generate(skeletons[0])  # warm-up: the first call pays for lazy initialisation
    images = []
    start = time.perf_counter()
    for ske in skeletons:
        images.append(gen.generate(ske))
    ms = 1000 * (time.perf_counter() - start) / len(skeletons)
    images = [fit_size(image, size) for image in images]
    return images, ms


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
             f"(the last {100 - round(100 * TRAIN_FRACTION)} %), device {report['device']}"
             + (", quick run" if report.get("quick") else ""), "",
             "| generator | SSIM | PSNR | pose error | detect rate | flicker | sharpness | ms/frame | train s |",
             "|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda v, f: "-" if v is None else format(v, f)
    for name, g in report["generators"].items():
        lines.append(f"| {name} | {fmt(g['ssim'], '.3f')} | {fmt(g['psnr'], '.2f')} | {fmt(g['pose_error'], '.3f')} | "
                     f"{fmt(g['detect_rate'], '.2f')} | {fmt(g['flicker'], '.2f')} | {fmt(g['sharpness'], '.2f')} | "
                     f"{fmt(g['ms_per_frame'], '.1f')} | {fmt(g['train_seconds'], '.0f')} |")
    real = report["real"]
    lines.append(f"| real frames (floor) | 1 | inf | {fmt(real['pose_error'], '.3f')} | {fmt(real['detect_rate'], '.2f')} "
                 f"| 1 | 1 | | |")
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
    figure.suptitle(f"{os.path.basename(report['dataset'])}: held-out quality while training", fontsize=10)
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


def fit_size(image, size):
    """`image` resized to size x size (INTER_AREA to shrink, bicubic to enlarge); as it is when it fits."""
    if image.shape[0] == size:
        return image
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_CUBIC)


def budget_for(name, epochs, quick, minutes):
    """How long network `name` trains: {"epochs": n} (given, or --quick) or {"minutes": m} (its share)."""
    if epochs is not None or quick:
        return {"epochs": epochs or QUICK_EPOCHS}
    share = 1.0 if minutes is None else minutes / sum(MINUTES.values())
    return {"minutes": round(MINUTES[name] * share, 2)}


def record_curve(points, split, gen):
    """After each training epoch: the network's held-out quality, appended to `points`."""
    images, _ = run_generator(gen, split.skeletons, split.size)
    scores = image_scores(images, split.real)
    points.append({"minutes": gen.train_seconds / 60, "epoch": gen.epochs_done,
                   "ssim": scores["ssim"], "psnr": scores["psnr"], "sharpness": scores["sharpness"]})


def prepared_generator(name, split, budget, device, model_dir, progress):
    """(generator, its training curve) for `name`: nearest on the training frames, or a network
    trained on them within `budget` (or reused from model_dir when trained so before)."""
    if name == "nearest":
        return DanceGenerators.make("nearest", split.dataset.subset(split.train_items)), []
    curve = []
    gen = trained_generator(name, split.dataset, split.train_items, budget, split.size, device, model_dir,
                            functools.partial(record_curve, curve, split), progress)
    if curve:   # trained now: its curve is kept with the model
        gen.notes["curve"] = curve
        gen.save()
        return gen, curve
    return gen, gen.loaded_settings.get("notes", {}).get("curve", [])   # reused: the curve of its training


def scores_of(gen, split, detector):
    """(generated test frames, the generator's measures)."""
    images, ms = run_generator(gen, split.skeletons, split.size)
    error, rate = pose_scores(detector, images, split.skeletons)
    return images, dict(image_scores(images, split.real), pose_error=error, detect_rate=rate, ms_per_frame=ms,
                        train_seconds=float(getattr(gen, "train_seconds", 0.0)))


def evaluate(dataset_dir, out_dir=None, gens=GENS, epochs=None, device=None, quick=False, size=None, progress=True,
             extra=None, minutes=None):
    """Train (or reuse) and evaluate `gens` on dataset_dir; returns the report (also written to out_dir).

    extra: {name: generator} of ready generators to score beside them (anything with generate(ske)).
    minutes: total training minutes, shared among the networks as MINUTES shares them (default: MINUTES).
    """
    if not os.path.exists(dataset_dir):
        raise DanceError(f"{dataset_dir}: no such dataset directory")
    if not is_prepared_dataset(dataset_dir):
        raise DanceError(f"{dataset_dir}: not a prepared dataset (no landmarks.npz); "
                         f"prepare a video with: python VideoSkeleton.py VIDEO")
    for name in gens:
        DanceGenerators.find(name, flag="--gens")
    dataset = VideoSkeleton(dataset_dir)
    if len(dataset) < MIN_ITEMS:
        raise DanceError(f"{dataset_dir}: only {len(dataset)} frames; an evaluation needs at least {MIN_ITEMS}")
    out_dir = out_dir or default_out(dataset_dir)
    check_output_folder(out_dir, inputs=[dataset_dir])
    device = pick_device(device)
    split = HeldOut(dataset, quick, size or dataset.image_size)

    report = {"dataset": os.path.abspath(dataset_dir), "device": str(device), "image_size": split.size,
              "n_train": int(len(split.train_items)), "n_test": int(len(split.test)), "quick": bool(quick),
              "pose_preprocessing": f"{POSE_PAD} px replicated border, then {POSE_UPSCALE}x bicubic enlargement, "
                                    f"MediaPipe Pose static mode, model_complexity 1",
              "generators": {}, "real": {}, "versions": versions(device)}
    outputs, curves = {}, {}
    extra = extra or {}
    names = list(gens) + list(extra)
    bar = tqdm(["real"] + names, desc="evaluating", unit="generator", disable=not progress)
    detector = PoseDetector(static_image_mode=True)
    try:
        error, rate = pose_scores(detector, split.real, split.skeletons)   # the floor: the real frames
        report["real"] = {"pose_error": error, "detect_rate": rate}
        bar.update()
        for name in names:
            bar.set_postfix_str(name)
            if name in extra:
                gen = extra[name]
            else:
                gen, curves[name] = prepared_generator(name, split, budget_for(name, epochs, quick, minutes), device,
                                                       os.path.join(out_dir, "models"), progress)
            outputs[name], report["generators"][name] = scores_of(gen, split, detector)
            bar.update()
    finally:
        detector.close()
        bar.close()
    report["training_curves"] = {name: points for name, points in curves.items() if name != "nearest"}
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
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_EPOCHS} epoch on {QUICK_ITEMS} frames: checks the whole path in a minute")
    args = parser.parse_args(argv)
    if args.data and args.dataset and args.data != args.dataset:
        raise DanceError(f"two datasets given ({args.data} and {args.dataset}): give one, with --data")
    args.dataset = args.data or args.dataset
    if args.dataset is None:
        parser.error("give the dataset to evaluate with --data DIR")
    if args.size is not None:
        from GenVanilla import power_of_two_levels
        power_of_two_levels(args.size)
    args.out = args.out or default_out(args.dataset)
    check_output_folder(args.out, inputs=[args.dataset])
    if args.epochs is not None and args.epochs < 1:
        raise DanceError(f"--epochs {args.epochs}: must be 1 or more")
    gens = [g.strip() for g in args.gens.split(",") if g.strip()]
    if args.minutes is not None and args.minutes <= 0:
        raise DanceError(f"--minutes {args.minutes}: must be positive")
    report = evaluate(args.dataset, args.out, gens, args.epochs, args.device, args.quick, args.size,
                      minutes=args.minutes)
    print(report_markdown(report))
    print(f"wrote {os.path.join(args.out, 'report.json')}, report.md and grid.png")
    return 0


if __name__ == "__main__":
    run_cli(main)

"""DanceEval's report: what an evaluation writes (report.json, report.md, grid.png, training_curve.png).

DanceEval.py measures; this file only shows: the Markdown tables, the comparison grid (real |
stick figure | each generator) and the quality-against-training-time curves.
"""
import json
import os
import platform

import cv2
import numpy as np

from DanceUtils import atomic_path, write_image
from Skeleton import draw_stick_figure

GRID_ITEMS = 8           # rows of grid.png: test frames spread over the test split

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
             f"(the last {100 - round(100 * report.get('train_fraction', 0.8))} %), device {report['device']}, "
             f"seed {report.get('seed', 0)}"
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
                      f"(nearest: its sharp crops; a GAN with an enhancer: its person; other networks: their "
                      f"{report['image_size']} px image enlarged):", "",
                  "| generator | SSIM person | PSNR person | sharpness person | pose error | ms/frame |",
                  "|---|---|---|---|---|---|"]
        for name, g in report["generators"].items():
            paste = g.get("at_paste", {})
            lines.append(f"| {name} | {fmt(paste.get('ssim_person'), '.3f')} | {fmt(paste.get('psnr_person'), '.2f')} "
                         f"| {fmt(paste.get('sharpness_person'), '.2f')} | {fmt(paste.get('pose_error'), '.3f')} "
                         f"| {fmt(paste.get('ms_per_frame'), '.1f')} |")
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

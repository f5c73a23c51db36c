"""How much of a video's preparation is MediaPipe, and how much is the rest. Prints figures; not a test.

    .venv/bin/python benchmarks/bench_video_skeleton.py [--video VIDEO] [--mod-frames 1 10] [--repeats 2]

For each modFrame:
- "prepare": VideoSkeleton(video, forceCompute=True, modFrame=N) into a temporary folder,
  the whole preparation (decoding, detection with the person's mask, cropping, JPEG and mask
  writing, the background plate, saving).
- "detect": MediaPipe alone, as the preparation runs it (PoseDetector in tracking mode, the
  same smoothing, with its segmentation), on the same kept frames already decoded in memory:
  only detect() is timed.
- "no seg": the same without the segmentation, for what the masks cost MediaPipe ("seg +").
- "overhead" = prepare - detect: decoding, cropping, writing, the plate and the second decoding
  pass (when there is one: "passes"), as a share of prepare. The target is under 25 %.
- "outside detect()": prepare minus the time its own detector spent in detect(), in the same run:
  the work the preparation adds on its main thread (cropping, writing, a second decoding pass).
  The decoding done ahead in the background thread is not in it: when no core is free it
  shows instead as a slower detect() than "detect" alone, which "overhead" does count.
- "decode": one pass that decodes the video the way the first pass does (readFrame for a
  kept frame, skipFrames for the others), without detecting: what one pass over the file costs.
  The preparation decodes in a background thread while MediaPipe works, and decodes the
  video a second time only when the frames to crop do not fit in KEEP_FRAMES_BYTES of memory.

Each figure is the best of --repeats runs (the machine is shared: the best is the least disturbed),
the runs of "prepare" and "detect" interleaved. MediaPipe is imported and its model loaded once
before any timing, so neither side pays that one-time cost.
"""
import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import DatasetPreparation as prep_module  # noqa: E402
from Skeleton import PoseDetector  # noqa: E402
from VideoReader import VideoReader  # noqa: E402
from DatasetPreparation import KEEP_FRAMES_BYTES  # noqa: E402
from VideoSkeleton import VideoSkeleton  # noqa: E402

VIDEO = REPO.parent / "shared" / "data" / "videos" / "course_taichi2.mp4"
CHUNK_BYTES = 512 * 2**20   # frames held in memory at once for "detect"


def kept_frames(video, mod_frame, chunk_bytes=CHUNK_BYTES):
    """Yield lists of the kept frames (one in mod_frame), decoded, a memory-sized chunk at a time."""
    reader = VideoReader(str(video))
    chunk_len = max(1, chunk_bytes // (reader.width * reader.height * 3))
    chunk = []
    while True:
        frame = reader.readFrame()
        if frame is None:
            break
        chunk.append(frame)
        if len(chunk) == chunk_len:
            yield chunk
            chunk = []
        if reader.skipFrames(mod_frame - 1) < mod_frame - 1:
            break
    reader.release()
    if chunk:
        yield chunk


def time_detection(video, mod_frame, segmentation=True):
    """(seconds spent in detect() only, frames examined, frames with a person)."""
    detector = PoseDetector(static_image_mode=False, smooth_landmarks=(mod_frame == 1), segmentation=segmentation)
    seconds, examined, found = 0.0, 0, 0
    for chunk in kept_frames(video, mod_frame):   # decoded before the clock starts
        start = time.perf_counter()
        for frame in chunk:
            found += detector.detect(frame) is not None
        seconds += time.perf_counter() - start
        examined += len(chunk)
    detector.close()
    return seconds, examined, found


def time_decoding(video, mod_frame):
    """Seconds for one pass that decodes as the first pass does, without detecting."""
    start = time.perf_counter()
    reader = VideoReader(str(video))
    while reader.readFrame() is not None:
        if reader.skipFrames(mod_frame - 1) < mod_frame - 1:
            break
    reader.release()
    return time.perf_counter() - start


class TimedDetector(PoseDetector):
    """The preparation's own detector, adding up the time spent in detect()."""
    seconds = 0.0

    def detect(self, image):
        start = time.perf_counter()
        try:
            return super().detect(image)
        finally:
            TimedDetector.seconds += time.perf_counter() - start


def time_preparation(video, mod_frame, work):
    """(seconds, seconds inside detect(), the VideoSkeleton) of one forced preparation into `work`."""
    TimedDetector.seconds = 0.0
    prep_module.PoseDetector = TimedDetector
    try:
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):   # its one-line summary
            vs = VideoSkeleton(str(video), forceCompute=True, modFrame=mod_frame,
                               out_dir=os.path.join(work, f"mod{mod_frame}"), progress=False)
        seconds = time.perf_counter() - start
    finally:
        prep_module.PoseDetector = PoseDetector
    return seconds, TimedDetector.seconds, vs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default=str(VIDEO))
    parser.add_argument("--mod-frames", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if not os.path.isfile(args.video):
        sys.exit(f"error: {args.video}: no such file (the real footage is in ../shared/data/videos)")

    reader = VideoReader(args.video)
    total_frames, width, height = reader.getTotalFrames(), reader.width, reader.height
    reader.release()
    print(f"video: {args.video} ({width}x{height}, {total_frames} frames); "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} at the start", flush=True)
    PoseDetector(static_image_mode=False).close()   # import MediaPipe and load its model once

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_video_skeleton-") as work:
        for mod in args.mod_frames:
            prepare, detect, inside, bare = [], [], [], []
            for _ in range(args.repeats):
                seconds, in_detect, vs = time_preparation(args.video, mod, work)
                prepare.append(seconds)
                inside.append(seconds - in_detect)
                detect_seconds, examined, found = time_detection(args.video, mod)
                detect.append(detect_seconds)
                bare.append(time_detection(args.video, mod, segmentation=False)[0])
            decode = min(time_decoding(args.video, mod) for _ in range(args.repeats))
            frames_read = vs.settings["frames_read"]
            in_memory = vs.skeCount() * width * height * 3 <= KEEP_FRAMES_BYTES
            rows.append(dict(mod=mod, passes=1 if in_memory else 2, read=frames_read, examined=examined, kept=vs.skeCount(), found=found,
                             prepare=min(prepare), detect=min(detect), bare=min(bare), decode=decode,
                             outside=min(inside), outside_share=min(o / p for o, p in zip(inside, prepare))))
            print(f"  modFrame {mod}: prepare {sorted(round(s, 2) for s in prepare)} s, "
                  f"detect {sorted(round(s, 2) for s in detect)} s, without segmentation "
                  f"{sorted(round(s, 2) for s in bare)} s, decode {decode:.2f} s; background plate: "
                  f"{'yes' if vs.has_plate else 'no'} (fit {vs.settings.get('plate_error')} grey levels)",
                  flush=True)

    print()
    header = (f"{'modFrame':>8} {'read':>5} {'examined':>8} {'kept':>5} {'passes':>6} | {'prepare s':>9} {'video fr/s':>10} "
              f"{'examined/s':>10} | {'detect s':>8} {'examined/s':>10} {'no seg s':>8} {'seg +':>6} | "
              f"{'decode s':>8} | {'overhead s':>10} {'overhead':>8} | {'outside detect() s':>18} {'share':>6}")
    print(header)
    print("-" * len(header))
    for r in rows:
        overhead = r["prepare"] - r["detect"]
        print(f"{r['mod']:>8} {r['read']:>5} {r['examined']:>8} {r['kept']:>5} {r['passes']:>6} | {r['prepare']:>9.2f} "
              f"{r['read'] / r['prepare']:>10.1f} {r['examined'] / r['prepare']:>10.1f} | {r['detect']:>8.2f} "
              f"{r['examined'] / r['detect']:>10.1f} {r['bare']:>8.2f} {100 * (r['detect'] / r['bare'] - 1):>5.0f}% | "
              f"{r['decode']:>8.2f} | {overhead:>10.2f} "
              f"{100 * overhead / r['prepare']:>7.1f}% | {r['outside']:>18.2f} {100 * r['outside_share']:>5.1f}%")
    print()
    print("prepare: the whole preparation; detect: MediaPipe's detect() alone (with segmentation, as the preparation")
    print("runs it) on the same frames, decoded beforehand; no seg: the same without segmentation, seg +: what it adds;")
    print("passes: decoding passes over the video in the preparation (2 when the frames to crop exceed "
          f"{KEEP_FRAMES_BYTES / 2**20:.0f} MiB);")
    print("decode: one pass decoding the video as pass 1 does; overhead = prepare - detect (target: under 25 %).")
    print("outside detect(): prepare minus its own detector's time in detect(), same run (the main thread's work")
    print("besides MediaPipe; background decoding competing for a busy CPU shows as a slower detect() instead).")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[1]:.2f} (5 min)")


if __name__ == "__main__":
    main()

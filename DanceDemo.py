"""DanceDemo: a source dancer drives the target person, in a window or into a video file.

    python DanceDemo.py                                  # the built-in synthetic sample
    python DanceDemo.py --source dance.mp4 --data data/me --gen gan
    python DanceDemo.py --source 0                       # live, from the webcam
    python DanceDemo.py --source dance.mp4 --out out.mp4 # no window: a video file

What happens to each source frame:
  1. the source's skeleton is detected (once per video, then cached; live for a camera),
  2. smoothed over time so the stick figure does not jitter,
  3. normalised into the target's frame (same body height, same standing place): with --view crop
     into a square crop like the target's dataset; with --view scene (the default where the target
     has a background plate) into the target's whole frame, then cut to its crop box (DanceScene.py),
  4. given to the generator, whose image is shown beside the source: the crop (with the stick
     figure), or the person pasted into the target's own room at full resolution.

Keys in the window: q or Esc quits, space pauses, 1-4 switch the generator,
s saves the current panels as a PNG.
"""
import argparse
import hashlib
import json
import os
import time
from collections import deque

import cv2
import numpy as np
from tqdm import tqdm

import DanceGenerators
from DanceScene import Scene, full_frame
from DanceUtils import (DATA_DIR, VIDEO_EXTENSIONS, DanceError, atomic_path, check_output_file, has_display,
                        run_cli, shown, write_image)
from DatasetPreparation import crop_side, detect_poses, to_crop_coordinates
from GenNearest import TEMPORAL_WEIGHT
from Skeleton import PoseDetector, Skeleton, draw_stick_figure
from SkeletonSequence import OneEuroFilter, PoseNormalizer, smooth_sequence
from VideoReader import VideoReader
from VideoSkeleton import VideoSkeleton, dataset_dir_for, is_prepared_dataset
from VideoWriter import VideoFileWriter, a_core_for_the_encoder

# Defaults of `python DanceDemo.py` (command-line flags override them). Edit GEN_TYPE to switch generator.
GEN_TYPE = "nearest"                        # nearest | vanilla_ske | vanilla_image | gan, or 1-4 (DanceGenerators.py)
SOURCE = os.path.join(DATA_DIR, "sample", "sample_source.mp4")  # a video, a camera index such as 0, or a prepared dataset
TARGET = os.path.join(DATA_DIR, "sample_target")                # the target person's prepared dataset
MODEL_SIZE = None                           # image size of the network's model; None: the one trained for the target
VIEW = "auto"                               # scene (the target's whole frame) | crop (the panels) | auto: scene
VIEWS = ("auto", "scene", "crop")           #   where the target has a background plate
PANEL = 384                                 # height of each panel of the window, in pixels
HOLD_SECONDS = 0.5                          # hold the last pose this long when the dancer is lost
SMOOTH_SIGMA_SECONDS = 0.06                 # width of the centred smoothing of a video's poses
CACHE_DIR = os.path.join(DATA_DIR, "cache")          # source videos' skeletons, detected once
SNAPSHOT_DIR = os.path.join(DATA_DIR, "snapshots")   # the window's `s` key
WINDOW = "DanceDemo  (q quit, space pause, 1-4 generator, s snapshot)"


# ---------------------------------------------------------------------- source skeletons
def source_cache_path(video_path):
    """Where a source video's skeletons are cached: data/cache/<video stem>-<hash of its path>.npz in the
    project's folder (two videos of the same name in different folders get different caches)."""
    stem = os.path.splitext(os.path.basename(video_path))[0]
    digest = hashlib.sha1(os.path.abspath(video_path).encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return os.path.join(CACHE_DIR, f"{stem}-{digest}.npz")


def read_source_cache(cache, signature):
    """(landmarks, found, info) of a cache made for the video of `signature`; None when there is none
    to use. A damaged cache (truncated, emptied, another format) is said in one line, then redone."""
    if not os.path.exists(cache):
        return None
    try:
        with np.load(cache, allow_pickle=False) as data:
            info = json.loads(str(data["info"]))
            if info["signature"] != signature:
                return None   # the video changed: detected again
            landmarks, found = data["landmarks"], data["found"]
        if landmarks.ndim != 3 or landmarks.shape[1:] != (33, 3) or found.shape != landmarks.shape[:1]:
            raise ValueError("arrays of the wrong shape")
        return landmarks.astype(np.float32), found.astype(bool), info
    except Exception:   # numpy, zipfile and json raise many kinds for a damaged file
        print(f"{shown(cache)}: the cached skeletons are damaged: detecting them again")
        return None


def video_signature(video_path):
    stat = os.stat(video_path)
    return {"video": os.path.abspath(video_path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def source_skeletons(video_path, progress=True):
    """Every frame's landmarks (N, 33, 3, in frame fractions), found (N,), frame size and fps.

    Detected once in MediaPipe's tracking mode and cached (no pickle); detected
    again when the video file changes.
    """
    cache = source_cache_path(video_path)
    signature = video_signature(video_path)
    cached = read_source_cache(cache, signature)
    if cached is not None:
        return cached
    start = time.perf_counter()
    frames, landmarks, _, frames_read, info = detect_poses(video_path, mod_frame=1, progress=progress)
    all_landmarks = np.zeros((frames_read, 33, 3), np.float32)
    found = np.zeros(frames_read, bool)
    all_landmarks[frames], found[frames] = landmarks, True
    info = {"signature": signature, "fps": info["fps"], "width": info["width"], "height": info["height"],
            "seconds": time.perf_counter() - start}
    with atomic_path(cache) as tmp:
        np.savez(tmp, landmarks=all_landmarks, found=found, info=np.array(json.dumps(info)))
    print(f"{video_path}: skeletons of {frames_read} frames detected in {info['seconds']:.1f} s "
          f"({found.sum()} with a person), cached in {shown(cache)}")
    return all_landmarks, found, info


def fill_missing(landmarks, found):
    """Give frames without a person the nearest found pose (only to compute crops; they stay 'not found')."""
    index = np.where(found, np.arange(len(found)), -1)
    index = np.maximum.accumulate(index)
    first = np.argmax(found)
    index[index < 0] = first
    return landmarks[index]


class FileSource:
    """A source video (or a prepared dataset): frames and normalised skeletons, known in advance.

    With a `scene` (DanceScene.Scene of the target), the poses are also normalised into the
    target's whole frame, and each frame's skeleton is given in its own crop box there.
    """

    def __init__(self, path, target, progress=True, scene=None):
        self.path, self.scene = path, scene
        self.dataset = None   # the source's VideoSkeleton, when the source is a prepared dataset
        if os.path.isdir(path):
            self.images, self.fps, self.display, self.found, crop, pixels = self.from_dataset(path)
        else:
            self.images, self.fps, self.display, self.found, crop, pixels = self.from_video(path, progress)
        self.normalizer = PoseNormalizer(crop[self.found], target.landmarks)
        self.poses = self.normalizer(crop)      # what the generator sees, in the target's crop
        if scene is not None:                   # ...and in the target's whole frame, in pixels
            self.scene_poses = PoseNormalizer(pixels[self.found], scene.landmarks)(pixels)

    def from_dataset(self, path):
        """A prepared dataset as a source: its crops and their (smoothed) landmarks, every one found;
        in pixels of its video's frame where it records its crop boxes."""
        prepared = self.dataset = VideoSkeleton(path)
        # A missing crop is said now, before the video is started (read_file names the file and
        # the command that prepares the dataset again), not found half way through it.
        missing = next((image for image in prepared.im if not os.path.isfile(image)), None)
        if missing is not None:
            prepared.read_file(missing, "image")
        crop = smooth_sequence(prepared.landmarks, sigma=1.0)
        boxes = prepared.crop_boxes
        pixels = full_frame(crop, boxes) if boxes is not None else crop * (prepared.image_size, prepared.image_size, 1)
        return prepared.im, prepared.fps, prepared.landmarks, np.ones(len(crop), bool), crop, pixels

    @staticmethod
    def from_video(path, progress):
        """A video as a source: its full frames, and its poses smoothed over time and re-expressed in a
        square crop around the dancer, like the target's dataset (crop side: VideoSkeleton's rule)."""
        landmarks, found, info = source_skeletons(path, progress)
        if not found.any():
            raise DanceError(f"{path}: no person found in any frame of the source video")
        smoothed = smooth_sequence(landmarks, found, sigma=max(0.5, SMOOTH_SIGMA_SECONDS * info["fps"]))
        filled = fill_missing(smoothed, found)
        side = crop_side(filled[found], info["width"], info["height"])
        crop, _ = to_crop_coordinates(filled, info["width"], info["height"], side)
        pixels = filled * np.float32([info["width"], info["height"], info["width"]])
        return None, info["fps"], landmarks, found, crop, pixels

    def __len__(self):
        return len(self.found)

    def frames(self):
        """Yield (index, source image, display landmarks or None, Skeleton for the generator or None,
        its box in the target's frame or None)."""
        reader = None if self.images is not None else VideoReader(self.path)
        for i in range(len(self)):
            if reader is None:   # a dataset's crop: a missing or damaged one is an error, never the end
                image = self.dataset.read_file(self.images[i], "image")
            else:
                image = reader.readFrame()
                if image is None:   # the video holds fewer frames than its header said
                    break
            if not self.found[i]:
                yield i, image, None, None, None
            elif self.scene is None:
                yield i, image, self.display[i], Skeleton(self.poses[i]), None
            else:
                box = self.scene.box_of(self.scene_poses[i])
                yield i, image, self.display[i], self.scene.crop_skeleton(self.scene_poses[i], box), box
        if reader is not None:
            reader.release()


class CameraSource:
    """A webcam: poses detected live, smoothed causally (One Euro), normalised from recent history."""

    HISTORY = 150  # frames used to estimate the dancer's size and place

    def __init__(self, index, target, scene=None):
        self.reader = VideoReader(index)
        self.fps = self.reader.fps
        self.target, self.scene = target, scene
        self.detector = PoseDetector(static_image_mode=False)
        self.filter = OneEuroFilter()
        self.history = deque(maxlen=self.HISTORY)

    def __len__(self):
        return 0  # unknown: until the user quits

    def frames(self):
        last = time.perf_counter()
        i = 0
        while True:
            image = self.reader.readFrame()
            if image is None:
                return
            now = time.perf_counter()
            found = self.detector.detect(image)
            if found is None:
                self.filter.reset()
                yield i, image, None, None, None
            else:
                landmarks = self.filter(found.landmarks, max(now - last, 1e-3))
                self.history.append(landmarks)
                yield (i, image, landmarks) + self.normalised(landmarks, np.array(self.history))
            last = now
            i += 1

    def normalised(self, landmarks, past):
        """(Skeleton for the generator, its box or None): the pose normalised into the target's crop,
        or its whole frame with a scene, by the dancer's size and place over the recent past."""
        w, h = self.reader.width, self.reader.height
        if self.scene is not None:
            to_pixels = np.float32([w, h, w])
            normalizer = PoseNormalizer(past * to_pixels, self.scene.landmarks)
            pose = normalizer(landmarks * to_pixels)
            box = self.scene.box_of(pose)
            return self.scene.crop_skeleton(pose, box), box
        side = crop_side(past, w, h)
        crop, _ = to_crop_coordinates(landmarks[None], w, h, side)
        past_crop, _ = to_crop_coordinates(past, w, h, side)
        return Skeleton(PoseNormalizer(past_crop, self.target.landmarks)(crop)[0]), None


def open_source(source, target, progress=True, scene=None):
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        return CameraSource(int(source), target, scene)
    if not os.path.exists(source):
        raise DanceError(f"{source}: no such source video or dataset")
    if os.path.isdir(source) and not is_prepared_dataset(source):
        raise DanceError(f"{source}: not a video and not a prepared dataset")
    return FileSource(source, target, progress, scene)


# ---------------------------------------------------------------------- the demo
def choose_view(view, target):
    """"scene" (the target's whole frame) or "crop" (the generated crop); "auto": scene where the
    target has a background plate."""
    has_plate = getattr(target, "has_plate", False)
    if view == "auto":
        return "scene" if has_plate else "crop"
    if view not in VIEWS:
        raise DanceError(f"--view {view}: choose one of {', '.join(VIEWS)}")
    if view == "scene" and not has_plate:
        raise DanceError(f"--view scene: {target.directory} has no background plate (filmed with a moving camera, "
                         f"or prepared before plates existed: prepare it again with --force); use --view crop")
    return view


def layers_of(gen, ske, box):
    """(person BGR, opacity or None, background or None) of any generator: those that draw over the
    plate give their layers, any other its whole crop (pasted with a soft border). One with sharp crops
    (GenNearest's sharp_size) gives them at the box's size, up to theirs: a person as sharp as the room."""
    sharp = min(int(box[2]), getattr(gen, "sharp_size", 0))
    if sharp:
        return gen.generate_layers(ske, box, size=sharp)
    if hasattr(gen, "generate_layers"):
        return gen.generate_layers(ske, box)
    return gen.generate(ske), None, None


def rest_index(target):
    """The target's most typical pose: the item whose skeleton is nearest to the median skeleton."""
    reduced = target.reduced()
    return int(np.argmin(np.linalg.norm(reduced - np.median(reduced, axis=0), axis=1)))


def put_text(image, text, y, scale=0.6):
    cv2.putText(image, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(image, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def message_panel(text, size, width=None):
    panel = np.full((size, width or size, 3), 40, np.uint8)
    for k, line in enumerate(text.split("\n")):
        put_text(panel, line, size // 2 - 10 + 24 * k, 0.5)
    return panel


class DanceDemo:
    """Plays a source through a generator of the target person (the course's DanceDemo)."""

    def __init__(self, filename_src=SOURCE, typeOfGen=GEN_TYPE, target=TARGET, size=MODEL_SIZE, progress=True,
                 view=VIEW):
        self.target = VideoSkeleton(target) if not isinstance(target, VideoSkeleton) else target
        self.size = size
        self.progress = progress
        self.source_name = str(filename_src)
        self.view = choose_view(view, self.target)
        self.scene = Scene(self.target) if self.view == "scene" else None
        self.generators = {}   # name -> generator, or the text to show where it cannot be made
        self.gen_name = DanceGenerators.find(typeOfGen).name
        # The generator first: a missing model stops here, before the source's poses are detected.
        self.generators[self.gen_name] = self.make_generator(self.gen_name)
        self.source = open_source(filename_src, self.target, progress, self.scene)
        self.rest = self.rest_pose()
        self.hold_frames = max(1, int(round(HOLD_SECONDS * (self.source.fps or 25))))

    def rest_pose(self):
        """(Skeleton, box or None) shown while no dancer is found: the target's most typical pose."""
        index = rest_index(self.target)
        if self.scene is None:
            return self.target.ske[index], None
        pose = self.scene.landmarks[index]
        box = self.scene.box_of(pose)
        return self.scene.crop_skeleton(pose, box), box

    def make_generator(self, name):
        """Generator `name` for the target (the registry, DanceGenerators.py, knows how to make each)."""
        options = {"temporal_weight": TEMPORAL_WEIGHT} if name == "nearest" else {}   # fewer jumps in a video
        return DanceGenerators.make(name, self.target, size=self.size, **options)

    def generator(self, name):
        """The generator `name`, created on first use; an error text when it cannot be made."""
        if name not in self.generators:
            try:
                self.generators[name] = self.make_generator(name)
            except DanceError as err:
                command = DanceGenerators.train_command(name, self.target.directory)
                self.generators[name] = f"not trained: run {command}\n({err})"
        return self.generators[name]

    def poses(self):
        """Yield (index, source image, source landmarks, skeleton fed to the generator, its box or None);
        while the dancer is lost, the last pose is held a moment, then the target's rest pose."""
        missing, last = 0, None
        for i, image, display, ske, box in self.source.frames():
            if ske is None:
                missing += 1
                ske, box = last if (last is not None and missing <= self.hold_frames) else self.rest
            else:
                missing, last = 0, (ske, box)
            yield i, image, display, ske, box

    def panels(self, image, display, ske, box=None, fps=None):
        """The panels side by side: source + skeleton | stick figure | generated crop, or with a scene,
        source + skeleton | the target's whole frame (at its resolution)."""
        source = image.copy()
        if display is not None:
            Skeleton(display).draw(source)
        gen = self.generator(self.gen_name)
        if self.scene is not None:
            height = self.scene.size[1]
            if isinstance(gen, str):
                generated = message_panel(gen.split("\n")[0], height, self.scene.size[0])
            else:
                generated = self.scene.paste(*layers_of(gen, ske, box)[:2], box)
            panels = [generated]
        else:
            height = PANEL
            figure = draw_stick_figure(np.zeros((height, height, 3), np.uint8), ske.reduce())
            if isinstance(gen, str):
                generated = message_panel(gen.split("\n")[0], height)
            else:
                generated = cv2.resize(gen.generate(ske), (height, height), interpolation=cv2.INTER_CUBIC)
            panels = [figure, generated]
        source = cv2.resize(source, (2 * max(1, round(source.shape[1] * height / source.shape[0] / 2)), height),
                            interpolation=cv2.INTER_AREA)
        frame = np.hstack([source] + panels)
        status = f"{self.gen_name}" + (f"   {fps:.1f} fps" if fps else "") + ("" if display is not None else "   (no person)")
        put_text(frame, status, 24)
        return frame

    def draw(self):
        """Play in a window until q / Esc (a video loops; a camera plays until its last frame)."""
        if not has_display():
            raise DanceError("no display: cannot open a window (use --out FILE.mp4)")
        cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE)
        self.paused, fps, tick = False, None, time.perf_counter()
        try:
            while True:
                for i, image, display, ske, box in self.poses():
                    frame = self.panels(image, display, ske, box, fps)
                    if not self.show(frame, (image, display, ske, box), tick):
                        return
                    now = time.perf_counter()
                    fps, tick = 1.0 / max(now - tick, 1e-6), now
                if isinstance(self.source, CameraSource):
                    return
                reset = getattr(self.generators.get(self.gen_name), "reset", None)
                if reset:   # the video starts again: nearest's memory of the last frame is forgotten
                    reset()
        finally:
            cv2.destroyAllWindows()

    def show(self, frame, pose, tick):
        """Show `frame` until its time is up (or while paused), answering the keys; False to quit."""
        delay = 1.0 / (self.source.fps or 25)
        while True:
            cv2.imshow(WINDOW, frame)
            wait = 30 if self.paused else max(1, int(1000 * (delay - (time.perf_counter() - tick))))
            key = cv2.waitKey(wait) & 0xFF
            if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1 or key in (ord("q"), 27):
                return False
            if key == ord(" "):
                self.paused = not self.paused
            elif chr(key) in "123456789"[:len(DanceGenerators.GENERATORS)]:
                self.gen_name = DanceGenerators.find(chr(key)).name
                frame = self.panels(*pose)   # the same pose, by the new generator
            elif key == ord("s"):
                print(f"saved {self.snapshot(frame)}")
            if not self.paused:
                return True

    def snapshot(self, frame):
        """Save the window's panels as data/snapshots/snapshot_<date>_<time>.png (project's folder)."""
        os.makedirs(SNAPSHOT_DIR, exist_ok=True)
        stem = os.path.join(SNAPSHOT_DIR, f"snapshot_{time.strftime('%Y%m%d_%H%M%S')}")
        path, count = stem + ".png", 1
        while os.path.exists(path):   # several in the same second: none overwrites another
            path, count = f"{stem}_{count}.png", count + 1
        return shown(write_image(path, frame))

    def write_video(self, path):
        """Write the side-by-side panels of the whole source into a video file."""
        check_output_file(path, VIDEO_EXTENSIONS, inputs=[self.source_name, self.target.directory], create=True,
                          input_folders=[self.target.directory, self.source_name])
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        total = len(self.source) or None
        count = 0
        with VideoFileWriter(path, self.source.fps or 25) as writer, a_core_for_the_encoder():
            for i, image, display, ske, box in tqdm(self.poses(), total=total, desc="writing", unit="frame",
                                                    disable=not self.progress):
                writer.write(self.panels(image, display, ske, box))
                count += 1
        return count


# ---------------------------------------------------------------------- the built-in sample
def ensure_sample(source, target):
    """Make the synthetic sample (videos + prepared target) when the defaults point at it and it is missing."""
    if source == SOURCE and not os.path.exists(SOURCE) or target == TARGET and not is_prepared_dataset(TARGET):
        import DanceSample
        paths = DanceSample.make_sample(DanceSample.SAMPLE_DIR)
        if target == TARGET and not is_prepared_dataset(TARGET):
            VideoSkeleton(paths["target_video"], modFrame=1, out_dir=TARGET)


def default_output(source, target, gen):
    """Where the demo's video goes when there is no window: data/demo_<source>_<target>_<gen>.mp4."""
    stem = lambda p: os.path.splitext(os.path.basename(os.path.normpath(str(p))))[0]
    return shown(os.path.join(DATA_DIR, f"demo_{stem(source)}_{stem(target)}_{gen}.mp4"))


def check_size(size):
    """A DanceError for a --size no network can have (checked before anything is loaded)."""
    if size is not None:
        from ModelFile import power_of_two_levels
        power_of_two_levels(size)


def main(argv=None):
    parser = argparse.ArgumentParser(description="A source dancer drives the target person (Everybody Dance Now).")
    parser.add_argument("--source", default=SOURCE,
                        help="source video, camera index (e.g. 0) or prepared dataset (default: the project's sample)")
    parser.add_argument("--data", "--target", dest="data", default=TARGET,
                        help="the target person's prepared dataset, or a video to prepare "
                             "(default: the project's sample, data/sample_target)")
    parser.add_argument("--gen", default=GEN_TYPE,
                        help=f"generator: {' | '.join(DanceGenerators.NAMES)} or 1-{len(DanceGenerators.NAMES)} "
                             f"(default: %(default)s)")
    parser.add_argument("--out", "--output", dest="out", default=None,
                        help=f"write the panels into this video file ({', '.join(VIDEO_EXTENSIONS)}) instead of "
                             f"opening a window")
    parser.add_argument("--no-window", action="store_true",
                        help="never open a window (writes data/demo_<source>_<target>_<gen>.mp4)")
    parser.add_argument("--view", default=VIEW, choices=VIEWS,
                        help="scene: the target's whole frame, the person drawn over the background plate; crop: "
                             "source | stick figure | generated crop (default: scene where the target has a plate)")
    parser.add_argument("--size", type=int, default=MODEL_SIZE,
                        help="image size of the network's model (default: the one trained for the target)")
    args = parser.parse_args(argv)

    # Every check before any work: the generator's name, the size, the output path.
    gen_name = DanceGenerators.find(args.gen).name
    check_size(args.size)
    output = args.out
    if output is None and (args.no_window or not has_display()):
        output = default_output(args.source, args.data, gen_name)
        if not args.no_window:
            print("no display (DISPLAY is not set): writing a video file instead of opening a window")
    if output is not None:
        # Never inside a dataset it reads: the target's (a video given as --data is prepared into
        # data/<its name>/), or a source given as a prepared dataset.
        target_folder = dataset_dir_for(args.data) if os.path.isfile(args.data) else args.data
        check_output_file(output, VIDEO_EXTENSIONS, inputs=[args.source, args.data], create=args.out is None,
                          input_folders=[target_folder, args.source])
    ensure_sample(args.source, args.data)
    if not os.path.exists(args.data):
        raise DanceError(f"{args.data}: no such target dataset")
    demo = DanceDemo(args.source, gen_name, args.data, args.size, view=args.view)
    if output is None:
        demo.draw()
        return 0
    count = demo.write_video(output)
    print(f"wrote {output}: {count} frames at {demo.source.fps:.1f} fps ({demo.gen_name})")
    return 0


if __name__ == "__main__":
    run_cli(main)

"""A video turned into a prepared dataset: square crops of the person, each with its skeleton.

    python VideoSkeleton.py my_dance.mp4 [--mod-frame 10] [--size 128] [--out DIR] [--force]

writes `data/my_dance/` (see docs/DESIGN.md, "A prepared dataset" and "The scene"):
    images/imageN.jpg   the crop of video frame N, size x size pixels
    masks/imageN.png    the person's mask in that crop (MediaPipe's segmentation), 0-255
    background.png      the background plate: the scene without the person, at the video's
                        resolution (only for a still camera)
    landmarks.npz       landmarks (K, 33, 3) in crop coordinates, image (K,), frame (K,),
                        visibility (K, 33), the crop boxes (K, 4), the frame size and the settings used

In Python:
    vs = VideoSkeleton("my_dance.mp4")       # prepares, or loads when already prepared
    vs = VideoSkeleton("data/my_dance")      # loads a prepared directory
    vs.skeCount(), vs.ske[i], vs.im[i], vs.readImage(i)
    vs.readMask(i), vs.has_plate, vs.plate, vs.plate_crop(box, size), vs.typical_box()

How the crops are made: the pose is detected on the full frame (MediaPipe in
tracking mode), then every kept frame is cropped to a square centred on the
person. The square has one side for the whole video (the person's tallest
extent plus a margin), so the person keeps the same size from frame to frame.
The person's mask is cut with the same square.

How the plate is made (BackgroundPlate.py): per pixel, the median of up to 50 frames spread over
the video, counting in each only the pixels clear of the person (their mask, grown by a
margin that leaves out their blurred edge and shadow); inpainted where the person stood in
all of them. It is kept only when it fits the frames away from the person: a moving camera
gets no plate, and its dataset is what it was before the scene.
"""
import argparse
import copy
import hashlib
import json
import os
import queue
import shutil
import threading
import time

import cv2
import numpy as np
from tqdm import tqdm

from BackgroundPlate import (PLATE_MARGIN, PLATE_MAX_ERROR, PLATE_MIN_FRAMES, PackedMasks, background_plate,
                             as_seen, is_identity, neighbour_differences, pack_mask, person_cover, plate_geometry,
                             plate_sample, steady, still_cameras, unchanged_exposures, unpack_mask)
from CameraMotion import STILL_SAMPLES, CameraTracker, StillPixels, motion_summary, small_grey, track_scale
from DanceUtils import DATA_DIR, DanceError, has_display, run_cli, shown, write_image
from DatasetFolder import (CONFIDENCE_FILE, HIGH_IMAGES, HIGH_MASKS, LANDMARKS_FILE, MASKS_SPILL, PLATE_FILE, check_dataset_folder, is_prepared_dataset,
                           has_models, make_work_folder, normal_folder, recover_interrupted, remove_leftovers, replace_directory)
from Skeleton import PoseDetector, Skeleton, reduced_joints
from VideoReader import VideoReader

# Defaults of `python VideoSkeleton.py` (command-line flags override them).
VIDEO = os.path.join(DATA_DIR, "sample", "sample_target.mp4")  # the project's own synthetic dancer (DanceSample.py)
MOD_FRAME = 10        # keep one frame in MOD_FRAME
IMAGE_SIZE = 128      # side of the square crops, in pixels
HIGH_SIZE = 512       # side of the sharp crops kept beside them (the crop's own side when smaller; 0: none)
MAX_SIZE = 2048       # larger crops would not fit in memory for a whole video
CROP_MARGIN = 1.3     # crop side = CROP_MARGIN x the person's extent (landmarks miss the top of the head)
EXTENT_PERCENTILE = 95  # the person's extent over the video, robust to a few bad detections
FORMAT_VERSION = 1
STILL_FIT = 4.5       # grey levels: a still camera's plate fits its frames within this (measured: 0.3-4.3);
                      # beyond it, the camera as the tracker followed it is tried too, and the better kept
CLEAR_MOTION = 0.02   # a tracked motion of this share of the frame's diagonal (or zoom) is no still camera's
CUT_DIFFERENCE = 6.0  # two neighbouring frames that differ this many times more than usual: a shot change
# Pass 1 keeps the frames to crop in memory up to this size, sparing pass 2 a second decoding of the video.
KEEP_FRAMES_BYTES = 1 << 30


def dataset_dir_for(video_path):
    """Where a video is prepared by default: data/<video stem>/ in the project's data folder."""
    return shown(os.path.join(DATA_DIR, os.path.splitext(os.path.basename(video_path))[0]))


def dataset_fingerprint(landmarks, frames):
    """A short hash of a dataset's skeletons and frame numbers: model files record the one they
    were trained on, so a folder prepared again from another video is noticed."""
    digest = hashlib.sha1(np.ascontiguousarray(landmarks, np.float32).tobytes())
    digest.update(np.ascontiguousarray(frames, np.int64).tobytes())
    return digest.hexdigest()[:16]


class VideoSkeleton:
    """The frames of a video (as files on disk) with the skeleton of each.

    ske[i]: the Skeleton of item i, in crop coordinates; im[i]: its image path;
    frame[i]: its frame number in the video; landmarks: all skeletons as one (K, 33, 3) array.
    The scene, where the dataset has it (None or False for the course's taichi1 and datasets
    prepared before): masks[i] (its mask's path, readMask(i)); crop_boxes[i] (x0, y0, side,
    side of its crop in the frame's pixels); frame_size (width, height); has_plate and plate
    (the background plate, one per dataset, never an item).
    """

    def __init__(self, filename, forceCompute=False, modFrame=None, size=None, out_dir=None, progress=True,
                 highSize=None):
        """filename: a video (prepared into out_dir, by default data/<video name>/, or loaded from there when
        it is already prepared) or a prepared folder. modFrame, size, highSize: the preparation's settings;
        None keeps those the folder was prepared with from this same video (a dataset prepared with
        --mod-frame 2 is not prepared again with the default; one prepared before the sharp crops keeps
        none), else MOD_FRAME, IMAGE_SIZE and HIGH_SIZE."""
        filename = os.fspath(filename)
        if not os.path.exists(filename):
            raise DanceError(f"{filename}: no such file or directory")
        if os.path.isdir(filename):
            if not is_prepared_dataset(filename):
                raise DanceError(f"{filename}: not a prepared dataset (no {LANDMARKS_FILE}); "
                                 f"prepare a video with: python VideoSkeleton.py VIDEO")
            self._load(filename)
            return
        directory = normal_folder(out_dir or dataset_dir_for(filename))
        recover_interrupted(directory)   # a preparation killed mid-swap: its dataset and models back first
        stored = {}
        if is_prepared_dataset(directory):
            try:
                stored = read_settings(directory)
            except DanceError:
                pass  # unreadable old dataset: prepare it again
        video = preparation_settings(filename, 1, 1)
        same_video = all(stored.get(key) == video[key] for key in ("video", "video_bytes", "video_mtime_ns"))
        if modFrame is None:
            modFrame = stored.get("mod_frame", MOD_FRAME) if same_video else MOD_FRAME
        if size is None:
            size = stored.get("size", IMAGE_SIZE) if same_video else IMAGE_SIZE
        if highSize is None:
            highSize = stored.get("high_size", 0 if stored else HIGH_SIZE) if same_video else HIGH_SIZE
        if highSize != 0 and not 16 <= highSize <= MAX_SIZE:
            raise DanceError(f"--high-size {highSize}: must be 0 (none) or between 16 and {MAX_SIZE} pixels")
        if modFrame < 1:
            raise DanceError(f"--mod-frame {modFrame}: must be 1 or more")
        if not 16 <= size <= MAX_SIZE:
            raise DanceError(f"--size {size}: must be between 16 and {MAX_SIZE} pixels")
        wanted = preparation_settings(filename, modFrame, size, highSize)
        # A dataset prepared before the scene (no masks, no plate) is prepared again; its skeletons
        # come out the same (MediaPipe's landmarks do not change with the segmentation), so the
        # models trained on it stay valid. (One prepared before the sharp crops had none: high_size 0.)
        have = dict({"high_size": 0}, **stored)
        if not forceCompute and {key: have.get(key) for key in wanted} == wanted and "has_plate" in stored:
            self._load(directory)
            self.reused = True
            remove_leftovers(directory)
            return
        prepare_dataset(filename, directory, modFrame, size, progress=progress, high_size=highSize)
        self._load(directory)

    # ------------------------------------------------------------------ loading
    def _load(self, directory):
        path = os.path.join(directory, LANDMARKS_FILE)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except Exception as err:  # numpy raises many kinds for a damaged file
            raise DanceError(f"{path}: not a readable landmarks file ({err})") from None
        for key in ("landmarks", "image", "frame"):
            if key not in arrays:
                raise DanceError(f"{path}: missing the array '{key}'")
        self.landmarks = arrays["landmarks"].astype(np.float32)
        count = len(self.landmarks)
        boxes = arrays.get("crop_boxes")
        if (self.landmarks.shape[1:] != (33, 3) or len(arrays["image"]) != count or len(arrays["frame"]) != count
                or (boxes is not None and boxes.shape != (count, 4))):
            raise DanceError(f"{path}: arrays of inconsistent shapes")
        if count == 0:
            raise DanceError(f"{path}: the dataset is empty")
        self.directory = directory
        self.frame = arrays["frame"].astype(np.int64)
        self.visibility = arrays.get("visibility", np.ones(self.landmarks.shape[:2], np.float32))
        self.im = np.array([os.path.join(directory, "images", str(name)) for name in arrays["image"]])
        self.ske = [Skeleton(lm, vis) for lm, vis in zip(self.landmarks, self.visibility)]
        self.settings = parse_settings(path, arrays.get("settings"))
        self.image_size = self.readImage(0).shape[0]
        self.fps = self.settings.get("fps", 25.0) / self.settings.get("mod_frame", 1)
        self.reused = False
        # The scene. Datasets without it (the course's taichi1, those prepared before) have no
        # masks and no plate, and may lack the boxes and the frame size: None.
        self.crop_boxes = boxes.astype(np.int64) if boxes is not None else None
        if "frame_size" in arrays:
            self.frame_size = tuple(int(v) for v in arrays["frame_size"])
        elif self.settings.get("video_width") and self.settings.get("video_height"):
            self.frame_size = (int(self.settings["video_width"]), int(self.settings["video_height"]))
        else:
            self.frame_size = None
        self.masks = None
        if os.path.isdir(os.path.join(directory, "masks")):
            self.masks = np.array([os.path.join(directory, "masks", mask_name(name)) for name in arrays["image"]])
        # The sharp crops and their masks, at high_size (0: none, as in datasets prepared before them).
        self.high_size = int(self.settings.get("high_crop_size", 0))
        self.high_im = self.high_masks = None
        if self.high_size:
            self.high_im = np.array([os.path.join(directory, HIGH_IMAGES, str(name)) for name in arrays["image"]])
            self.high_masks = np.array([os.path.join(directory, HIGH_MASKS, mask_name(name)) for name in arrays["image"]])
        self.has_plate = bool(self.settings.get("has_plate", False))
        self._plate = self._confidence = None   # read when first asked for
        # Each frame's view of the plate (datasets of a still camera, and older ones: the identity).
        self.camera = arrays.get("camera", still_cameras(count).astype(np.float32))
        self.exposure = arrays.get("exposure", unchanged_exposures(count))
        if self.camera.shape != (count, 3, 3) or self.exposure.shape != (count, 2, 3):
            raise DanceError(f"{path}: arrays of inconsistent shapes")
        self.plate_size = tuple(self.settings.get("plate_size") or self.frame_size or ())
        if "has_plate" in self.settings and self.masks is None:   # prepared with masks, and they are gone
            raise DanceError(f"{os.path.join(directory, 'masks')}: missing; prepare the dataset again with: "
                             f"{self.prepare_again_command()}")
        if self.has_plate and (self.crop_boxes is None or self.frame_size is None):
            raise DanceError(f"{path}: has a background plate but no 'crop_boxes' or 'frame_size' to place it; "
                             f"prepare the dataset again with: {self.prepare_again_command()}")

    # ------------------------------------------------------------------ the course's API
    def skeCount(self):
        return len(self.ske)

    def __len__(self):
        return len(self.ske)

    def imagePath(self, idx):
        return self.im[idx]

    @property
    def fingerprint(self):
        """The hash of these items' skeletons and frame numbers (see dataset_fingerprint)."""
        return dataset_fingerprint(self.landmarks, self.frame)

    def prepare_again_command(self):
        """The command that prepares this dataset again (for error messages)."""
        video = self.settings.get("video", "VIDEO")
        return f"python VideoSkeleton.py {video} --out {self.directory} --force"

    def read_file(self, path, what, flags=cv2.IMREAD_COLOR):
        """An image file of the dataset, or a DanceError naming it and the command that prepares it again."""
        # A missing or cut file is not handed to OpenCV, whose image libraries print their own lines.
        image = cv2.imread(path, flags) if image_file_complete(path) else None
        if image is None:
            raise DanceError(f"{path}: missing or unreadable {what} of the dataset; "
                             f"prepare it again with: {self.prepare_again_command()}")
        return image

    def readImage(self, idx):
        """The crop of item idx as a BGR uint8 image."""
        return self.read_file(self.im[idx], "image")

    def readMask(self, idx):
        """The person's mask in the crop of item idx: uint8 (size, size), 255 on the person; None
        when the dataset has no masks."""
        return None if self.masks is None else self.read_file(self.masks[idx], "mask", cv2.IMREAD_GRAYSCALE)

    def readHighImage(self, idx):
        """The sharp crop of item idx (BGR uint8, high_size x high_size); None when the dataset has none."""
        return None if self.high_im is None else self.read_file(self.high_im[idx], "sharp crop")

    def readHighMask(self, idx):
        """The person's mask in the sharp crop of item idx (uint8, 255 on the person); None without sharp crops."""
        return None if self.high_masks is None else self.read_file(self.high_masks[idx], "sharp mask",
                                                                   cv2.IMREAD_GRAYSCALE)

    @property
    def plate(self):
        """The background plate: BGR uint8 at the video's resolution, or None without one. Read once."""
        if self.has_plate and self._plate is None:
            path = os.path.join(self.directory, PLATE_FILE)
            plate = self.read_file(path, "background plate")
            if plate.shape[1::-1] != self.plate_size:   # boxes would fall outside it
                raise DanceError(f"{path}: {plate.shape[1]}x{plate.shape[0]} pixels, but the dataset's plate is "
                                 f"{self.plate_size[0]}x{self.plate_size[1]}; prepare the dataset again with: "
                                 f"{self.prepare_again_command()}")
            self._plate = plate
        return self._plate

    @property
    def confidence(self):
        """How sure the plate is of each pixel: uint8 (H, W), 255 where enough frames saw the room clear of
        the person, 0 where none did (where the person always stood); None without a plate. Read once."""
        if self.has_plate and self._confidence is None:
            path = os.path.join(self.directory, CONFIDENCE_FILE)
            if os.path.exists(path):
                self._confidence = self.read_file(path, "plate confidence", cv2.IMREAD_GRAYSCALE)
            else:   # prepared before the confidence was kept
                self._confidence = np.full(self.plate.shape[:2], 255, np.uint8)
        return self._confidence

    def view(self, idx):
        """How item idx's frame saw the plate: (3x3 frame pixels -> plate pixels, (gain, offset) per colour
        from the frame's exposure to the plate's). For plate_crop's `view`."""
        return self.camera[idx].astype(np.float64), (self.exposure[idx, 0], self.exposure[idx, 1])

    def plate_crop(self, box, size, view=None):
        """The plate's square `box` (x0, y0, side[, side]) resized to size x size, cut as the crops are
        (the border pixels repeated outside it); None without a plate.

        view None: `box` is in the plate's pixels, at the plate's exposure (the scene). view (see view(i)):
        `box` is in that frame's pixels, and the crop is the plate as that frame saw it (its camera, its
        exposure): what lies behind the person in that frame's crop."""
        if not self.has_plate:
            return None
        return self._cut(self.plate, box, size, view, cv2.INTER_LINEAR)

    def confidence_crop(self, box, size, view=None):
        """plate_crop of the confidence (uint8, size x size): where the plate knows the room."""
        if not self.has_plate:
            return None
        return self._cut(self.confidence, box, size, view and (view[0], None), cv2.INTER_NEAREST)

    def _cut(self, image, box, size, view, interpolation):
        x0, y0, side = (int(round(float(v))) for v in box[:3])
        if view is None or (is_identity(view[0]) and (view[1] is None or steady(view[1]))):
            return crop_square(image, (x0, y0), side, int(size))
        camera, exposure = view
        seen = as_seen(image, camera @ np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], np.float64), exposure,
                       side, side, interpolation)
        return cv2.resize(seen, (int(size), int(size)), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)

    def typical_box(self):
        """The crop box (x0, y0, side, side) centred on the median of the crops' centres: where the
        person usually stands, for a pose given without a box. None without crop boxes."""
        if self.crop_boxes is None:
            return None
        side = int(np.median(self.crop_boxes[:, 2]))
        centre = np.median(self.crop_boxes[:, :2] + self.crop_boxes[:, 2:] / 2, axis=0)
        x0, y0 = (int(round(v)) for v in centre - side / 2)
        return x0, y0, side, side

    def reduced(self):
        """All skeletons in the reduced form: float32 array (K, 26)."""
        return reduced_joints(self.landmarks).reshape(len(self), -1)

    def subset(self, indices):
        """A VideoSkeleton of only the items `indices` (same directory), e.g. a training split.
        The plate is the dataset's, shared."""
        part = copy.copy(self)
        indices = np.asarray(indices, dtype=np.int64)
        part.landmarks, part.visibility = self.landmarks[indices], self.visibility[indices]
        part.frame, part.im = self.frame[indices], self.im[indices]
        part.ske = [self.ske[i] for i in indices]
        if self.masks is not None:
            part.masks = self.masks[indices]
        if self.high_im is not None:
            part.high_im, part.high_masks = self.high_im[indices], self.high_masks[indices]
        if self.crop_boxes is not None:
            part.crop_boxes = self.crop_boxes[indices]
        part.camera, part.exposure = self.camera[indices], self.exposure[indices]
        return part

    def draw(self, delay_ms=40):
        """Browse the dataset in a window: each crop beside its stick figure. q quits."""
        if not has_display():
            raise DanceError("no display: cannot open a window (DISPLAY is not set)")
        for i in range(self.skeCount()):
            image = self.readImage(i)
            figure = np.zeros_like(image)
            self.ske[i].draw_reduced(figure)
            both = cv2.resize(np.hstack([image, figure]), None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
            cv2.imshow("VideoSkeleton (q quits)", both)
            if cv2.waitKey(delay_ms) & 0xFF in (ord("q"), 27):
                break
        cv2.destroyAllWindows()

    def __str__(self):
        return f"VideoSkeleton({self.directory}: {self.skeCount()} frames of {self.image_size} px)"


# ---------------------------------------------------------------------- preparation
def preparation_settings(video_path, mod_frame, size, high_size=0):
    """What a prepared dataset depends on: when any of it changes, it is prepared again."""
    stat = os.stat(video_path)
    return {"version": FORMAT_VERSION, "video": os.path.abspath(video_path), "video_bytes": stat.st_size,
            "video_mtime_ns": stat.st_mtime_ns, "mod_frame": int(mod_frame), "size": int(size),
            "high_size": int(high_size)}


def parse_settings(path, stored):
    """The settings recorded in a landmarks file (a JSON text; {} when it has none)."""
    if stored is None:
        return {}
    try:
        settings = json.loads(str(stored))
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        raise DanceError(f"{path}: its 'settings' is not a JSON object; prepare the dataset again "
                         f"(python VideoSkeleton.py VIDEO --out {os.path.dirname(path) or '.'} --force)")
    return settings


def read_settings(directory):
    """The settings recorded in a prepared dataset's landmarks file (a dict)."""
    path = os.path.join(directory, LANDMARKS_FILE)
    try:
        with np.load(path, allow_pickle=False) as data:
            return parse_settings(path, data["settings"] if "settings" in data.files else None)
    except DanceError:
        raise
    except Exception:
        raise DanceError(f"{path}: not a readable landmarks file") from None


def mask_name(image_name):
    """The file name of an image's mask under masks/: imageN.jpg -> imageN.png (lossless)."""
    return os.path.splitext(str(image_name))[0] + ".png"


def image_file_complete(path):
    """True when `path` is a file whose PNG or JPEG data is not cut short (it ends as such a file ends)."""
    try:
        with open(path, "rb") as file:
            head = file.read(8)
            file.seek(max(0, os.fstat(file.fileno()).st_size - 12))
            tail = file.read()
    except OSError:
        return False
    if head.startswith(b"\x89PNG"):
        return tail.endswith(b"IEND\xaeB`\x82")
    if head.startswith(b"\xff\xd8"):
        return tail.rstrip(b"\x00").endswith(b"\xff\xd9")
    return True   # another format: OpenCV decides


def crop_square(frame, corner, side, out_size):
    """The square of `side` pixels whose top-left corner is `corner` (x0, y0), resized to out_size.

    Parts outside the frame repeat the border pixels, so a person at the edge still gets a full crop
    (and a square wholly outside the frame is its nearest border pixels repeated).
    """
    h, w = frame.shape[:2]

    def inside(start, length):
        """The part [a, b) of [start, start + side) inside [0, length), at least its nearest pixel,
        and how many repeated pixels go before and after it."""
        a = min(max(start, 0), length - 1)
        b = max(min(start + side, length), a + 1)
        before = min(max(a - start, 0), side - (b - a))
        return a, b, before, side - (b - a) - before

    xa, xb, left, right = inside(int(corner[0]), w)
    ya, yb, top, bottom = inside(int(corner[1]), h)
    region = frame[ya:yb, xa:xb]
    pads = (top, bottom, left, right)
    if any(pads):
        region = cv2.copyMakeBorder(region, *pads, cv2.BORDER_REPLICATE)
    interpolation = cv2.INTER_AREA if side > out_size else cv2.INTER_LINEAR
    return cv2.resize(region, (out_size, out_size), interpolation=interpolation)


def read_examined(reader, mod_frame):
    """Yield (frame number, frame) for one frame in mod_frame; the others are skipped without converting them."""
    while True:
        index = reader.position
        frame = reader.readFrame()
        if frame is None:
            return
        yield index, frame
        if reader.skipFrames(mod_frame - 1) < mod_frame - 1:
            return


def prefetch(iterable, depth=4):
    """Yield the items of `iterable`, produced ahead by a background thread.

    Pass 1 decodes the next frames this way while MediaPipe works on the current one (both
    release the GIL). An exception in the producer is raised here. Close the generator
    (`.close()`) to stop the thread before releasing what it reads from.
    """
    items = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item):
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def produce():
        try:
            for item in iterable:
                if not put((item, None)):
                    return
            put((end, None))
        except BaseException as err:  # handed over to the consumer
            put((end, err))

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, err = items.get()
            if item is end:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()
        thread.join()


class InOrder:
    """Calls work(*args) in a background thread, one call after the other in the order given, while the
    caller's thread goes on (OpenCV and NumPy release the GIL as they compute).

        worker = InOrder(work); worker.put(a, b); ...; worker.finish()   # waits; raises work's error

    At most `depth` calls wait (memory): put() blocks beyond. Call finish() (in a finally) to stop the thread.
    """

    def __init__(self, work, depth=8):
        self.calls = queue.Queue(maxsize=depth)
        self.error = None
        self.thread = threading.Thread(target=self.run, args=(work,), name="in-order", daemon=True)
        self.thread.start()

    def run(self, work):
        while (args := self.calls.get()) is not None:
            if self.error is None:   # after an error, the remaining calls are only drained
                try:
                    work(*args)
                except BaseException as err:   # handed over to finish()
                    self.error = err

    def put(self, *args):
        self.calls.put(args)

    def finish(self):
        self.calls.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def frames_to_crop(video_path, frames, kept):
    """Yield the frames numbered `frames` (ascending): from `kept` when pass 1 could keep them all (each
    given up as it goes), else decoded again (pass 2)."""
    if len(kept) == len(frames):
        for index in frames:
            yield kept.pop(index)
        return
    reader = VideoReader(video_path)
    try:
        position = 0
        for index in frames:
            reader.skipFrames(index - position)
            frame = reader.readFrame()
            position = index + 1
            if frame is None:
                raise DanceError(f"{video_path}: frame {index} could not be read a second time")
            yield frame
    finally:
        reader.release()


def still_on_screen(video_path, scale):
    """What stands still on the screen (CameraMotion.StillPixels: at the tracking scale), from STILL_SAMPLES
    frames spread over the video; None when fewer than two could be read."""
    still = StillPixels()
    reader = VideoReader(video_path)
    try:
        last = max(reader.getTotalFrames() - 1, 0)
        for index in np.unique(np.linspace(0, last, STILL_SAMPLES).round().astype(int)):
            frame = reader.readFrameAt(int(index))
            if frame is not None:
                still.add(small_grey(frame, scale))
    finally:
        reader.release()
    return still.mask()


def detect_poses(video_path, mod_frame, progress=True, keep=None, masks=None, track=False):
    """Pass 1: the pose of every kept frame, detected on the full frame.

    Returns (frames, landmarks (K, 33, 3) in frame fractions, visibility (K, 33), frames_read, reader info).
    keep: an optional dict that receives {frame number: frame} for the frames with a person,
    when they all fit in KEEP_FRAMES_BYTES (it is left empty when they do not).
    masks: an optional list (or PackedMasks) that receives the person's mask of each frame with a
    person, packed (see pack_mask); MediaPipe's segmentation runs only then (it costs time).
    track: follow the camera too (with masks: a CameraMotion.CameraTracker sees every kept frame; it is
    returned in the reader info as "tracker"). The masks are packed and the camera followed in a thread of
    their own, while MediaPipe works on the next frames.
    """
    reader = VideoReader(video_path)
    tracker = None
    if track and masks is not None:
        scale = track_scale(reader.width, reader.height)
        tracker = CameraTracker(reader.width, reader.height, still_on_screen(video_path, scale))
    # Tracking mode follows the person; its landmark smoothing assumes consecutive frames.
    detector = PoseDetector(static_image_mode=False, smooth_landmarks=(mod_frame == 1),
                            segmentation=masks is not None)
    frames, landmarks, visibility = [], [], []
    kept_bytes = 0
    total = reader.getTotalFrames()
    bar = tqdm(total=total, desc="detecting poses", unit="frame", disable=not progress, leave=False)
    examined = read_examined(reader, mod_frame)
    if tracker is not None:   # the shrunk grey frame the tracker needs, made where the frame is decoded
        examined = ((i, frame, small_grey(frame, tracker.scale)) for i, frame in examined)
    examined = prefetch(examined)   # decoding overlaps detection...

    def keep_mask(mask, grey=None):
        masks.append(pack_mask(mask))
        if tracker is not None:   # the person at the tracker's size: where the mask is over half
            cover = cv2.resize(mask, grey.shape[::-1], interpolation=cv2.INTER_NEAREST) >= 0.5
            tracker.add(grey, cover.view(np.uint8))

    keeping = InOrder(keep_mask) if masks is not None else None   # ...and so do the masks and the tracking
    try:
        for index, frame, *grey in examined:
            found = detector.detect(frame)
            if found is not None:
                frames.append(index)
                landmarks.append(found.landmarks)
                visibility.append(found.visibility)
                if keeping is not None:
                    keeping.put(detector.last_mask, *grey)
                if keep is not None and kept_bytes <= KEEP_FRAMES_BYTES:
                    kept_bytes += frame.nbytes
                    if kept_bytes <= KEEP_FRAMES_BYTES:
                        keep[index] = frame
                    else:
                        keep.clear()  # too big for memory: pass 2 decodes the video again
            bar.update(index + 1 - bar.n)
    finally:
        examined.close()  # stops the decoding thread before the reader is released
        if keeping is not None:
            keeping.finish()
        bar.close()
        detector.close()
        reader.release()
    frames_read = reader.position
    info = {"fps": reader.fps, "width": reader.width, "height": reader.height, "frames_expected": total,
            "tracker": tracker}
    return (np.array(frames, np.int64), np.array(landmarks, np.float32).reshape(-1, 33, 3),
            np.array(visibility, np.float32).reshape(-1, 33), frames_read, info)


def crop_side(landmarks, width, height):
    """One square side (pixels) for the whole video: the person's extent at the 95th percentile, plus margin."""
    xy = landmarks[:, :, :2] * (width, height)
    extent = np.maximum(np.ptp(xy[:, :, 0], axis=1), np.ptp(xy[:, :, 1], axis=1))
    return max(8, int(round(np.percentile(extent, EXTENT_PERCENTILE) * CROP_MARGIN)))


def to_crop_coordinates(landmarks, width, height, side):
    """Landmarks (N, 33, 3) in fractions of a width x height frame -> fractions of each frame's crop.

    Each crop is the square of `side` pixels centred on the person's bounding box.
    Returns the crop landmarks and the crops' top-left corners (N, 2) in pixels.
    """
    xy = landmarks[:, :, :2] * (width, height)
    centre = (xy.min(axis=1) + xy.max(axis=1)) / 2
    corners = np.round(centre - side / 2).astype(np.int32)
    out = landmarks.astype(np.float32, copy=True)
    out[:, :, :2] = (xy - corners[:, None, :]) / side
    out[:, :, 2] = landmarks[:, :, 2] * width / side
    return out, corners


def make_plate(video_path, tracker, overlay, frames, positions, plate_frames, covers, boxes, width, height):
    """The background plate of a prepared video, or None with one line that says why.

    tracker: the CameraTracker that saw every kept frame; overlay: uint8 (H, W), 1 on what stood still on
    the screen (StillPixels: with a moving camera, a letterbox or captions, not the scene); positions:
    which kept frames the plate is made of (plate_frames, their person covers and crop boxes). Returns (Plate or None, camera (K, 3, 3): each
    kept frame's pixels -> the plate's, exposure (K, 2, 3): each kept frame's gain and offset to the
    plate's exposure, the settings that describe it)."""
    count = len(frames)
    camera = still_cameras(count).astype(np.float32)
    exposure = unchanged_exposures(count)
    about = {"plate_error": None}
    name = shown(video_path)
    if len(plate_frames) < PLATE_MIN_FRAMES:
        print(f"{name}: only {count} frames with a person, too few to tell the background from them: "
              f"no background plate; the networks will draw the whole crop")
        return None, camera, exposure, about
    # A shot change: two neighbouring plate frames that neither a still camera nor the tracker explains.
    followed = tracker.transforms()
    still = still_cameras(count)
    differences = np.minimum(neighbour_differences(plate_frames, covers, boxes, still[positions]),
                             neighbour_differences(plate_frames, covers, boxes, followed[positions]))
    jump = int(np.argmax(differences))
    if differences[jump] > max(CUT_DIFFERENCE * np.median(differences), PLATE_MAX_ERROR):
        print(f"{name}: the shot changes (near frame {frames[positions[jump + 1]]}): no background plate; the "
              f"networks will draw the whole crop")
        return None, camera, exposure, about
    # The camera as still first (a still camera's frames as they are: tracking could only add jitter),
    # unless the tracker saw it move far (no still camera does); then as the tracker followed it, if it saw
    # it move and the still reading fits worse than still cameras do. The better of the two is kept.
    shift, zoom = motion_summary(followed, width, height)
    moved = shift >= 1 or zoom >= 1.002
    clearly = shift > CLEAR_MOTION * np.hypot(width, height) or zoom > 1 + CLEAR_MOTION
    readings = ([] if clearly else [still]) + ([followed] if moved else [])
    best, too_far = None, False
    for to_reference in readings:
        geometry = plate_geometry(to_reference, width, height)
        if geometry is None:
            too_far = True
            continue
        hidden = overlay if to_reference is followed else None   # a moving camera's overlays are not the scene
        plate = background_plate(plate_frames, covers, boxes, geometry[0][positions], geometry[1], hidden)
        if best is None or plate.error < best[0].error:
            best = plate, geometry, to_reference
        if plate.error <= STILL_FIT:
            break
    plate, (to_plate, plate_size), to_reference = best
    shift, zoom = motion_summary(to_reference, width, height)
    if too_far and plate.error > PLATE_MAX_ERROR:
        print(f"{name}: the camera travels too far ({motion_summary(followed, width, height)[0]:.0f} px) for one "
              f"background plate: no background plate; the networks will draw the whole crop")
        return None, camera, exposure, about
    gains = plate.exposures[:, 0].mean(axis=1)
    about = {"plate_error": round(float(plate.error), 3), "plate_size": list(plate_size),
             "camera_shift": round(shift, 1), "camera_zoom": round(zoom, 3),
             "exposure_range": round(float(gains.max() / gains.min() - 1), 3)}
    if plate.error > PLATE_MAX_ERROR:   # the background changes in a way no camera motion explains
        print(f"{name}: the background does not stay the same (it differs by {plate.error:.1f} grey levels even "
              f"{'after following the camera' if shift else 'with a still camera'}: moving people, light, "
              f"or a hand-held walk): no background plate; the networks will draw the whole crop")
        return None, camera, exposure, about
    camera = to_plate.astype(np.float32)
    # Every kept frame's exposure, from the plate's frames around it (exposure changes slowly).
    plate_frame_numbers = frames[positions]
    for c in range(2):
        for channel in range(3):
            exposure[:, c, channel] = np.interp(frames, plate_frame_numbers, plate.exposures[:, c, channel])
    moves = (f"camera {'still' if not shift else f'moves {shift:.0f} px'}"
             + (f" and zooms {zoom:.2f}x" if zoom > 1.01 else ""))
    print(f"{name}: background plate {plate_size[0]}x{plate_size[1]}; {moves}; exposure varies "
          f"{100 * about['exposure_range']:.0f} %; it fits the frames within {about['plate_error']:.1f} grey levels")
    return plate, camera, exposure, about


def write_crops(folder, images, masks, name, frame, mask, corner, side, size):
    """Cut frame and its person mask (uint8, the whole frame) at the square (corner, side), resized to
    size x size, into folder/images/name and folder/masks/mask_name(name)."""
    image_path = os.path.join(folder, images, name)
    if not cv2.imwrite(image_path, crop_square(frame, corner, side, size)):
        raise DanceError(f"{image_path}: could not write the image (is the disk full?)")
    # The mask is cut exactly as the image: same square, its border pixels repeated likewise.
    mask_path = os.path.join(folder, masks, mask_name(name))
    if not cv2.imwrite(mask_path, crop_square(mask, corner, side, size)):
        raise DanceError(f"{mask_path}: could not write the mask (is the disk full?)")


def sharp_side(high_size, side, size):
    """The side of the sharp crops: high_size, or the crop's own side when smaller; 0 (none) when that
    is no larger than the networks' crops."""
    high = min(int(high_size), int(side))
    return high if high > size else 0


def prepare_dataset(video_path, directory, mod_frame=MOD_FRAME, size=IMAGE_SIZE, progress=True, high_size=HIGH_SIZE):
    """Prepare `video_path` into `directory`; the previous dataset there is replaced only on success
    (see DatasetFolder.py: what may be replaced, and how a killed run is finished or undone)."""
    start = time.perf_counter()
    directory = normal_folder(directory)
    check_dataset_folder(directory, video_path)   # before any work: a user's folder is never replaced
    recover_interrupted(directory)                # a run killed mid-swap: its dataset and models back first
    work = make_work_folder(directory)
    masks = PackedMasks(os.path.join(work, MASKS_SPILL))  # each frame's person mask, until its crop is known
    try:
        kept = {}  # the frames to crop, when pass 1 could keep them all in memory
        frames, landmarks, visibility, frames_read, info = detect_poses(video_path, mod_frame, progress, keep=kept,
                                                                        masks=masks, track=True)
        tracker = info["tracker"]   # where each kept frame looks, in one view
        tried = len(range(0, frames_read, mod_frame))
        if len(frames) == 0:
            raise DanceError(f"{video_path}: no person found in any of the {tried} frames examined")
        width, height = info["width"], info["height"]
        side = crop_side(landmarks, width, height)

        high = sharp_side(high_size, side, size)
        for folder in ["images", "masks"] + ([HIGH_IMAGES, HIGH_MASKS] if high else []):
            os.makedirs(os.path.join(work, folder))
        crop_landmarks, corners = to_crop_coordinates(landmarks, width, height, side)
        names = [f"image{i}.jpg" for i in frames]
        # The plate's frames are set aside as the crops go by: no third decoding of the video.
        plate_positions = set(plate_sample(len(frames), width * height * 3).tolist())
        plate_frames, plate_covers, plate_boxes = [], [], []
        margin = max(1, int(round(PLATE_MARGIN * side)))
        to_crop = prefetch(frames_to_crop(video_path, frames, kept))   # a second decoding overlaps the cropping
        sharp = InOrder(write_crops) if high else None                  # and so do the sharp crops
        try:
            for k, frame in enumerate(tqdm(to_crop, total=len(frames), desc="cropping", unit="frame",
                                           disable=not progress, leave=False)):
                mask = unpack_mask(masks[k], width, height)
                write_crops(work, "images", "masks", names[k], frame, mask, corners[k], side, size)
                if sharp is not None:
                    sharp.put(work, HIGH_IMAGES, HIGH_MASKS, names[k], frame, mask, corners[k], side, high)
                if k in plate_positions:
                    plate_frames.append(frame)
                    plate_covers.append(person_cover(masks[k], width, height, margin))
                    plate_boxes.append((int(corners[k][0]), int(corners[k][1]), side))
        finally:
            to_crop.close()
            if sharp is not None:
                sharp.finish()

        overlay = (np.zeros((height, width), np.uint8) if tracker.still is None else
                   cv2.resize(tracker.still, (width, height), interpolation=cv2.INTER_NEAREST))
        plate, camera, exposure, about = make_plate(video_path, tracker, overlay, frames, sorted(plate_positions),
                                                    plate_frames, plate_covers, plate_boxes, width, height)
        del plate_frames, plate_covers   # memory
        if plate is not None:
            write_image(os.path.join(work, PLATE_FILE), plate.image)
            write_image(os.path.join(work, CONFIDENCE_FILE), plate.confidence)

        settings = preparation_settings(video_path, mod_frame, size, high_size)
        settings.update(high_crop_size=high, fps=info["fps"], video_width=width, video_height=height,
                        frames_read=frames_read, frames_expected=info["frames_expected"],
                        has_plate=plate is not None, **about)
        boxes = np.column_stack([corners, np.full((len(frames), 2), side)]).astype(np.int32)  # x0, y0, w, h
        np.savez(os.path.join(work, LANDMARKS_FILE), landmarks=crop_landmarks, image=np.array(names),
                 frame=frames, visibility=visibility, crop_boxes=boxes, camera=camera, exposure=exposure,
                 frame_size=np.array([width, height], np.int32), settings=np.array(json.dumps(settings)))
        masks.close()
        os.remove(os.path.join(work, MASKS_SPILL))
        replace_directory(work, directory)
    except BaseException:
        masks.close()
        recover_interrupted(directory)   # a swap that failed half way is undone at once
        if not has_models(work):         # (models are never removed: the next run puts them back)
            shutil.rmtree(work, ignore_errors=True)
        raise
    remove_leftovers(directory)          # what killed runs left, now that the new dataset is in place

    seconds = time.perf_counter() - start
    summary = (f"{shown(video_path)}: read {frames_read} frames, examined {tried}, kept {len(frames)}, "
               f"skipped {tried - len(frames)} without a person, {seconds:.1f} s, "
               f"{frames_read / seconds:.1f} frames/s -> {shown(directory)}")
    print(summary)
    return directory


def cut_short(vs):
    """(frames read, frames announced) when the video ended before its announced length, else None."""
    read, expected = vs.settings.get("frames_read"), vs.settings.get("frames_expected")
    if read is not None and expected and read < expected - 1:  # containers may round the count by one
        return read, expected
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description="Prepare a video into a dataset of square crops with skeletons.")
    parser.add_argument("video", nargs="?", default=VIDEO,
                        help="the video to prepare (default: the project's sample, data/sample/sample_target.mp4)")
    parser.add_argument("--mod-frame", type=int, default=MOD_FRAME, help="keep one frame in N (default: %(default)s)")
    parser.add_argument("--size", type=int, default=IMAGE_SIZE, help="side of the square crops in pixels (default: %(default)s)")
    parser.add_argument("--high-size", type=int, default=HIGH_SIZE,
                        help="side of the sharp crops kept beside them, for the scene (the crop's own side when "
                             "smaller; 0: none; default: %(default)s)")
    parser.add_argument("--out", default=None,
                        help="the dataset folder to write: new, empty, or a dataset prepared before, which is "
                             "replaced (default: data/<video name> in the project's folder)")
    parser.add_argument("--force", action="store_true", help="prepare again even when already prepared with these settings")
    parser.add_argument("--show", action="store_true", help="browse the result in a window afterwards")
    args = parser.parse_args(argv)
    if args.video == VIDEO and not os.path.exists(VIDEO):
        import DanceSample
        DanceSample.make_sample(os.path.dirname(VIDEO))
    elif not os.path.exists(args.video):
        raise DanceError(f"{args.video}: no such video file")
    elif os.path.isdir(args.video) and not is_prepared_dataset(args.video):
        raise DanceError(f"{args.video}: is a folder, not a video (nor a prepared dataset)")
    if args.out is not None:   # checked before the work, even when the dataset is already prepared
        args.out = normal_folder(args.out)
        check_dataset_folder(args.out, args.video)
    vs = VideoSkeleton(args.video, forceCompute=args.force, modFrame=args.mod_frame, size=args.size, out_dir=args.out,
                       highSize=args.high_size)
    if vs.reused:
        print(f"{args.video}: already prepared with these settings, loaded {vs} (use --force to prepare again)")
    if args.show:
        vs.draw()
    short = cut_short(vs)
    if short:
        raise DanceError(f"{args.video}: the video is cut short: only {short[0]} of its {short[1]} frames "
                         f"could be read; prepared the {vs.skeCount()} usable frames in {vs.directory}")
    return 0


if __name__ == "__main__":
    run_cli(main)

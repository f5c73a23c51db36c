"""A video turned into a prepared dataset: square crops of the person, each with its skeleton.

    python VideoSkeleton.py my_dance.mp4 [--mod-frame 10] [--size 128] [--high-size 512] [--out DIR] [--force]

writes `data/my_dance/` (see docs/DESIGN.md, "A prepared dataset" and "The scene"):
    images/imageN.jpg   the crop of video frame N, size x size pixels
    masks/imageN.png    the person's mask in that crop (MediaPipe's segmentation), 0-255
    images_high/, masks_high/   the same at up to HIGH_SIZE pixels (the sharp crops)
    background.png      the background plate: the scene without the person, in the first kept
                        frame's view (absent when the video gets none: a shot change, a walk...)
    plate_confidence.png  how sure the plate is of each pixel
    landmarks.npz       landmarks (K, 33, 3) in crop coordinates, image (K,), frame (K,),
                        visibility (K, 33), the crop boxes (K, 4), the frame size and the settings used

In Python:
    vs = VideoSkeleton("my_dance.mp4")       # prepares, or loads when already prepared
    vs = VideoSkeleton("data/my_dance")      # loads a prepared directory
    vs.skeCount(), vs.ske[i], vs.im[i], vs.readImage(i)
    vs.readMask(i), vs.has_plate, vs.plate, vs.plate_crop(box, size), vs.typical_box()

How a video is prepared (pass 1: poses, masks and the camera; pass 2: the crops; the plate):
DatasetPreparation.py. The dataset's folder rules: DatasetFolder.py.
"""
import argparse
import copy
import hashlib
import os

import cv2
import numpy as np

from BackgroundPlate import as_seen, is_identity, steady, still_cameras, unchanged_exposures
from DanceUtils import DATA_DIR, DanceError, has_display, run_cli, shown
from DatasetFolder import (CONFIDENCE_FILE, HIGH_IMAGES, HIGH_MASKS, LANDMARKS_FILE, PLATE_FILE, check_dataset_folder,
                           is_prepared_dataset, normal_folder, recover_interrupted, remove_leftovers)
from DatasetPreparation import (crop_square, image_file_complete, mask_name, parse_settings, preparation_settings,
                                prepare_dataset, read_settings)
from Skeleton import Skeleton, reduced_joints

# Defaults of `python VideoSkeleton.py` (command-line flags override them).
VIDEO = os.path.join(DATA_DIR, "sample", "sample_target.mp4")  # the project's own synthetic dancer (DanceSample.py)
MOD_FRAME = 10        # keep one frame in MOD_FRAME
IMAGE_SIZE = 128      # side of the square crops, in pixels
HIGH_SIZE = 512       # side of the sharp crops kept beside them (the crop's own side when smaller; 0: none)
MAX_SIZE = 2048       # larger crops would not fit in memory for a whole video


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

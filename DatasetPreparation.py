"""How a video becomes a prepared dataset (VideoSkeleton does it when a video is not prepared yet).

    prepare_dataset("my_dance.mp4", "data/my_dance", mod_frame=10, size=128, high_size=512)

Pass 1 decodes the video (in a background thread) and detects the pose and the person's mask on
every examined frame (MediaPipe in tracking mode); beside it, a worker thread packs the masks and
follows the camera (CameraMotion.py). The crop side is then known: one square side for the whole
video (the person's tallest extent plus a margin), so the person keeps the same size from frame to
frame. Pass 2 cuts every kept frame, and its mask, to that square centred on the person (the
frames kept in memory when they fit, else decoded again), at `size` and at the sharp `high_size`.
The background plate (BackgroundPlate.py) is made of frames set aside on the way; whether the video
gets one is decided here (make_plate), with one line that says what was found or why not.
Everything is written into a work folder that replaces the dataset only at the end (DatasetFolder.py).
"""
import json
import os
import shutil
import time

import cv2
import numpy as np
from tqdm import tqdm

from BackgroundPlate import (PLATE_MARGIN, PLATE_MAX_ERROR, PLATE_MIN_FRAMES, PackedMasks, background_plate,
                             neighbour_differences, pack_mask, person_cover, plate_geometry, plate_sample,
                             still_cameras, unchanged_exposures, unpack_mask)
from CameraMotion import STILL_SAMPLES, CameraTracker, StillPixels, motion_summary, small_grey, track_scale
from DanceUtils import DanceError, shown, write_image
from DatasetFolder import (CONFIDENCE_FILE, HIGH_IMAGES, HIGH_MASKS, LANDMARKS_FILE, MASKS_SPILL, PLATE_FILE,
                           check_dataset_folder, has_models, make_work_folder, normal_folder, recover_interrupted,
                           remove_leftovers, replace_directory)
from Skeleton import PoseDetector
from VideoReader import InOrder, VideoReader, prefetch, read_examined

CROP_MARGIN = 1.3     # crop side = CROP_MARGIN x the person's extent (landmarks miss the top of the head)
EXTENT_PERCENTILE = 95  # the person's extent over the video, robust to a few bad detections
FORMAT_VERSION = 1
STILL_FIT = 4.5       # grey levels: a still camera's plate fits its frames within this; beyond it, the
                      # camera as the tracker followed it is tried too, and the better kept
CLEAR_MOTION = 0.02   # a tracked motion of this share of the frame's diagonal (or zoom) is no still camera's
CUT_DIFFERENCE = 6.0  # two neighbouring frames that differ this many times more than usual: a shot change
# Pass 1 keeps the frames to crop in memory up to this size, sparing pass 2 a second decoding of the video.
KEEP_FRAMES_BYTES = 1 << 30


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


def prepare_dataset(video_path, directory, mod_frame, size, progress=True, high_size=0):
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

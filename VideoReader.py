"""Read the frames of a video file (or a camera) with OpenCV.

    video = VideoReader("dance.mp4")
    print(video.getTotalFrames(), video.fps, video.width, video.height)
    for frame in video:          # BGR uint8 images, one after the other
        ...

and two helpers that let decoding overlap other work (OpenCV and NumPy release the GIL):
    for item in prefetch(frames_of_something): ...   # produced ahead by a background thread
    worker = InOrder(work); worker.put(args...); worker.finish()   # calls run in order, in a thread
"""
import os
import queue
import threading

import cv2

from DanceUtils import DanceError

# FFmpeg's own log lines ("moov atom not found", "partial file") would come on stderr beside
# our one-line DanceError; OpenCV reads this variable when it opens its first video.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


class VideoReader:
    def __init__(self, filename):
        """Open `filename` (a video file) or a camera given as an int index."""
        self.filename = filename
        self.is_camera = isinstance(filename, int)
        if not self.is_camera:
            if not os.path.exists(filename):
                raise DanceError(f"{filename}: no such file")
            if os.path.isdir(filename):
                raise DanceError(f"{filename}: is a directory, not a video file")
        # OpenCV logs its own lines when a camera is missing; our one-line error says it better.
        previous = cv2.getLogLevel()
        cv2.setLogLevel(0)
        try:
            self.cap = cv2.VideoCapture(filename)
        finally:
            cv2.setLogLevel(previous)
        if not self.cap.isOpened():
            self.cap.release()
            what = "camera could not be opened" if self.is_camera else "not a video OpenCV can read"
            raise DanceError(f"{filename}: {what}")
        self.fps = self.cap.get(cv2.CAP_PROP_FPS) or 25.0
        self.width = int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        # The container's frame count: an estimate, wrong for cut-short files and cameras.
        self.frame_count = max(0, int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        self.position = 0  # index of the next frame readFrame() returns
        if not self.is_camera and self.frame_count == 0:
            self.cap.release()
            raise DanceError(f"{filename}: not a video OpenCV can read (no frames)")

    def getTotalFrames(self):
        """The number of frames the file says it holds."""
        return self.frame_count

    def readFrame(self):
        """The next frame as a BGR uint8 image, or None at the end of the video."""
        ok, frame = self.cap.read()
        if not ok:
            return None
        self.position += 1
        return frame

    def skipFrames(self, n):
        """Move past `n` frames without converting them to images (cheaper than reading).

        Returns the number actually skipped (fewer at the end of the video).
        """
        for i in range(n):
            if not self.cap.grab():
                return i
            self.position += 1
        return n

    def readFrameAt(self, index):
        """Frame `index` (seeks; prefer iterating when reading in order)."""
        if index != self.position:
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            self.position = index
        return self.readFrame()

    def __iter__(self):
        while True:
            frame = self.readFrame()
            if frame is None:
                return
            yield frame

    def __len__(self):
        return self.frame_count

    def release(self):
        self.cap.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        cap = getattr(self, "cap", None)
        if cap is not None:
            cap.release()


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

"""Read the frames of a video file (or a camera) with OpenCV.

    video = VideoReader("dance.mp4")
    print(video.getTotalFrames(), video.fps, video.width, video.height)
    for frame in video:          # BGR uint8 images, one after the other
        ...
"""
import os

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

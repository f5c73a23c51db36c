"""Write frames into a video file: the writing counterpart of VideoReader.py.

    with VideoFileWriter("out.mp4", fps=25) as writer, a_core_for_the_encoder():
        for frame in frames:     # BGR uint8 images, all of the same size
            writer.write(frame)

The file appears only once the block ends without an error (written atomically).
"""
import contextlib
import sys

import cv2
import numpy as np

from DanceUtils import atomic_path


@contextlib.contextmanager
def a_core_for_the_encoder():
    """While a video is written, torch leaves one core to the encoder (ffmpeg, its own process):
    torch's threads wait for each other by spinning, so one thread on a core that ffmpeg also
    needs slows every layer."""
    torch = sys.modules.get("torch")   # only where a network generator has loaded it
    threads = torch.get_num_threads() if torch else 1
    if threads > 1:
        torch.set_num_threads(threads - 1)
    try:
        yield
    finally:
        if threads > 1:
            torch.set_num_threads(threads)


class VideoFileWriter:
    """H.264 through imageio-ffmpeg's ffmpeg when available, else OpenCV's mp4v; written atomically."""

    def __init__(self, path, fps):
        self.path, self.fps = path, fps
        self.atomic = atomic_path(path)
        self.tmp = None
        self.ffmpeg = self.cv = None
        self.size = None

    def __enter__(self):
        self.tmp = self.atomic.__enter__()
        return self

    def write(self, frame):
        if self.size is None:
            h, w = frame.shape[:2]
            self.size = (w + w % 2, h + h % 2)  # H.264 wants even sizes
            try:
                import imageio_ffmpeg
                self.ffmpeg = imageio_ffmpeg.write_frames(self.tmp, self.size, fps=self.fps, codec="libx264",
                                                          pix_fmt_in="bgr24", quality=7, macro_block_size=2,
                                                          ffmpeg_log_level="error",
                                                          output_params=["-preset", "veryfast"])  # keep up with the demo
                self.ffmpeg.send(None)
            except (ImportError, RuntimeError, OSError):
                self.ffmpeg = None
                self.cv = cv2.VideoWriter(self.tmp, cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self.size)
        if frame.shape[1] != self.size[0] or frame.shape[0] != self.size[1]:
            frame = cv2.copyMakeBorder(frame, 0, self.size[1] - frame.shape[0], 0, self.size[0] - frame.shape[1],
                                       cv2.BORDER_CONSTANT)
        if self.ffmpeg is not None:
            self.ffmpeg.send(np.ascontiguousarray(frame))
        else:
            self.cv.write(frame)

    def __exit__(self, exc_type, exc, tb):
        if self.ffmpeg is not None:
            self.ffmpeg.close()
        if self.cv is not None:
            self.cv.release()
        return self.atomic.__exit__(exc_type, exc, tb)

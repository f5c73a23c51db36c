"""VideoReader on a short video of a person (the synthetic sample's target: 100 frames, 240x240, 25 fps)
and on bad input. tests/test_real_footage.py reads and seeks real H.264 footage the same way."""
import numpy as np
import pytest

from DanceUtils import DanceError
from VideoReader import VideoReader


def sampled(clip):
    """Frames kept from a full read, to compare with seeks: the first two, the last, and some between."""
    n = clip.frames
    return (0, 1, n // 3, n // 2, n // 2 + 1, n - 14, n - 1)


@pytest.fixture(scope="module")
def full_read(clip):
    """One pass over the whole video: (frames counted, {index: frame} for the sampled ones, shapes)."""
    reader = VideoReader(str(clip.path))
    kept, count, shapes = {}, 0, set()
    for index, frame in enumerate(reader):
        if index in sampled(clip):
            kept[index] = frame.copy()
        shapes.add(frame.shape)
        count += 1
    reader.release()
    return count, kept, shapes


def test_properties(clip):
    with VideoReader(str(clip.path)) as reader:
        assert reader.getTotalFrames() == clip.frames
        assert len(reader) == clip.frames
        assert reader.fps == pytest.approx(clip.fps, abs=0.01)
        assert (reader.width, reader.height) == (clip.width, clip.height)
        assert reader.position == 0


def test_iteration_gives_every_frame(clip, full_read):
    count, kept, shapes = full_read
    assert count == clip.frames
    assert shapes == {(clip.height, clip.width, 3)}
    assert all(frame.dtype == np.uint8 for frame in kept.values())
    # Different moments of a dance are different images.
    assert not np.array_equal(kept[0], kept[clip.frames // 2])


def test_read_frame_returns_none_at_the_end(clip):
    last = clip.frames - 1
    reader = VideoReader(str(clip.path))
    assert reader.skipFrames(last) == last
    assert reader.readFrame() is not None
    assert reader.position == clip.frames
    assert reader.readFrame() is None
    assert reader.position == clip.frames
    reader.release()


def test_read_frame_at_equals_the_frame_of_iteration(clip, full_read):
    _, kept, _ = full_read
    reader = VideoReader(str(clip.path))
    # Out of order on purpose: backwards and forwards seeks.
    first, second, third, half, after_half, late, last = sampled(clip)
    for index in (last, first, half, second, late, after_half, third):
        frame = reader.readFrameAt(index)
        assert frame is not None, index
        assert np.array_equal(frame, kept[index]), f"readFrameAt({index}) differs from frame {index}"
        assert reader.position == index + 1
    assert reader.readFrameAt(clip.frames) is None
    reader.release()


def test_skip_frames_moves_the_position(clip, full_read):
    _, kept, _ = full_read
    _, _, third, half, after_half, _, _ = sampled(clip)
    reader = VideoReader(str(clip.path))
    assert reader.skipFrames(third) == third
    assert reader.position == third
    assert np.array_equal(reader.readFrame(), kept[third])
    assert reader.skipFrames(half - third) == half - third     # third + 1 .. half
    assert np.array_equal(reader.readFrame(), kept[after_half])
    assert reader.skipFrames(0) == 0
    assert reader.position == after_half + 1
    # Past the end: only what is left is skipped.
    assert reader.skipFrames(1000) == clip.frames - after_half - 1
    assert reader.position == clip.frames
    assert reader.readFrame() is None
    reader.release()


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.mp4"
    with pytest.raises(DanceError, match="no such file") as err:
        VideoReader(str(path))
    assert str(path) in str(err.value)


def test_directory(tmp_path):
    with pytest.raises(DanceError, match="directory") as err:
        VideoReader(str(tmp_path))
    assert str(tmp_path) in str(err.value)


@pytest.mark.parametrize("content", [b"", b"this is not a video\n" * 50], ids=["empty", "text"])
def test_not_a_video(tmp_path, content):
    path = tmp_path / "fake.mp4"
    path.write_bytes(content)
    with pytest.raises(DanceError, match="not a video") as err:
        VideoReader(str(path))
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)

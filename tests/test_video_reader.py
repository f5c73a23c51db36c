"""VideoReader on real footage (physio_squat.mp4: 114 frames, 1080x1080, 29.97 fps) and on bad input."""
import numpy as np
import pytest

from DanceUtils import DanceError
from VideoReader import VideoReader

SAMPLED = (0, 1, 37, 57, 58, 100, 113)   # frames kept from a full read, to compare with seeks


@pytest.fixture(scope="module")
def full_read(squat_video):
    """One pass over the whole video: (frames counted, {index: frame} for SAMPLED, shape)."""
    reader = VideoReader(str(squat_video))
    kept, count, shapes = {}, 0, set()
    for index, frame in enumerate(reader):
        if index in SAMPLED:
            kept[index] = frame.copy()
        shapes.add(frame.shape)
        count += 1
    reader.release()
    return count, kept, shapes


def test_properties(squat_video):
    with VideoReader(str(squat_video)) as reader:
        assert reader.getTotalFrames() == 114
        assert len(reader) == 114
        assert reader.fps == pytest.approx(29.97, abs=0.01)
        assert (reader.width, reader.height) == (1080, 1080)
        assert reader.position == 0


def test_iteration_gives_every_frame(full_read):
    count, kept, shapes = full_read
    assert count == 114
    assert shapes == {(1080, 1080, 3)}
    assert all(frame.dtype == np.uint8 for frame in kept.values())
    # Different moments of a squat are different images.
    assert not np.array_equal(kept[0], kept[57])


def test_read_frame_returns_none_at_the_end(squat_video):
    reader = VideoReader(str(squat_video))
    assert reader.skipFrames(113) == 113
    assert reader.readFrame() is not None
    assert reader.position == 114
    assert reader.readFrame() is None
    assert reader.position == 114
    reader.release()


def test_read_frame_at_equals_the_frame_of_iteration(squat_video, full_read):
    _, kept, _ = full_read
    reader = VideoReader(str(squat_video))
    # Out of order on purpose: backwards and forwards seeks.
    for index in (113, 0, 57, 1, 100, 58, 37):
        frame = reader.readFrameAt(index)
        assert frame is not None, index
        assert np.array_equal(frame, kept[index]), f"readFrameAt({index}) differs from frame {index}"
        assert reader.position == index + 1
    assert reader.readFrameAt(114) is None
    reader.release()


def test_skip_frames_moves_the_position(squat_video, full_read):
    _, kept, _ = full_read
    reader = VideoReader(str(squat_video))
    assert reader.skipFrames(37) == 37
    assert reader.position == 37
    assert np.array_equal(reader.readFrame(), kept[37])
    assert reader.skipFrames(20) == 20        # 38 .. 57
    assert np.array_equal(reader.readFrame(), kept[58])
    assert reader.skipFrames(0) == 0
    assert reader.position == 59
    # Past the end: only what is left is skipped.
    assert reader.skipFrames(1000) == 114 - 59
    assert reader.position == 114
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

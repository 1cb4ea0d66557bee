"""The media toolkit against real files: clips rendered with PyAV, images and audio made here."""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import tempfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reelvault.demo.clips import render_clip
from reelvault.media.atoms import is_truncated, moov_at_front, top_level_atoms
from reelvault.media.errors import MediaError, NotAVideoError
from reelvault.media.faststart import remux_faststart
from reelvault.media.probe import MP4_FORMAT, probe
from reelvault.media.thumbnails import write_thumbnail

SHAPES = [(360, 640), (640, 360), (480, 480)]  # 9:16, 16:9, 1:1

ClipFactory = Callable[..., Path]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> ClipFactory:
    """Render a clip once per set of arguments; tests must not modify the file."""
    folder = tmp_path_factory.mktemp("clips")
    cache: dict[tuple[tuple[str, object], ...], Path] = {}

    def make(**kwargs: object) -> Path:
        key = tuple(sorted(kwargs.items()))
        if key not in cache:
            path = folder / f"clip{len(cache)}.mp4"
            render_clip(path, **{"seconds": 2, **kwargs})  # type: ignore[arg-type]
            cache[key] = path
        return cache[key]

    return make


# --- helpers that make files and read them back with PyAV ----------------------------------


def _encode_still(path: Path, codec: str, pix_fmt: str) -> Path:
    encoder = av.CodecContext.create(codec, "w")
    encoder.width, encoder.height, encoder.pix_fmt = 64, 48, pix_fmt
    encoder.time_base = Fraction(1, 25)
    frame = av.VideoFrame(64, 48, "rgb24").reformat(format=pix_fmt)
    frame.pts = 0
    path.write_bytes(b"".join(bytes(p) for p in [*encoder.encode(frame), *encoder.encode(None)]))
    return path


def _write_gif(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb8"
        for index in range(10):
            frame = av.VideoFrame(64, 48, "rgb24").reformat(format="rgb8")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _write_audio_only(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=48000, layout="mono")
        for index in range(50):
            frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
            frame.sample_rate, frame.pts = 48000, index * 1024
            frame.planes[0].update(bytes(4096))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _write_planes_clip(
    path: Path, size: tuple[int, int], lumas: list[bytes], *, gop: int = 12, rotation: int = 0
) -> Path:
    """A 24 fps H.264 clip whose frame i has the luma plane `lumas[i]` (rows of `width` bytes)."""
    width, height = size
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "ultrafast", "crf": "10"}
        if rotation:
            stream.set_display_rotation(rotation)
        for index, luma in enumerate(lumas):
            frame = av.VideoFrame(width, height, "yuv420p")
            frame.pts = index
            _set_plane(frame.planes[0], luma, width)
            for plane in frame.planes[1:]:
                plane.update(b"\x80" * plane.buffer_size)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _encode_clip(
    path: Path,
    codec: str,
    options: dict[str, str],
    *,
    size: tuple[int, int] = (320, 180),
    sample_aspect_ratio: Fraction | None = None,
    audio: str | None = None,
) -> Path:
    """One second of grey frames in any encoder and container (from the file name)."""
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = options
        if sample_aspect_ratio:
            stream.codec_context.sample_aspect_ratio = sample_aspect_ratio
        sound = container.add_stream(audio, rate=48000, layout="mono") if audio else None
        for index in range(24):
            frame = av.VideoFrame(width, height, "yuv420p")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if sound is not None:
            samples = sound.codec_context.frame_size or 1024
            for index in range(48000 // samples):
                chunk = av.AudioFrame(
                    format=sound.codec_context.format.name, layout="mono", samples=samples
                )
                chunk.sample_rate, chunk.pts = 48000, index * samples
                for plane in chunk.planes:
                    plane.update(bytes(plane.buffer_size))
                for packet in sound.encode(chunk):
                    container.mux(packet)
            for packet in sound.encode(None):
                container.mux(packet)
    return path


def _set_plane(plane: av.video.plane.VideoPlane, data: bytes, width: int) -> None:
    pad = bytes(plane.line_size - width)
    rows = (data[row * width : (row + 1) * width] + pad for row in range(plane.height))
    plane.update(b"".join(rows))


def _luma(frame: av.VideoFrame) -> list[bytes]:
    """The luma plane as rows of exactly `width` bytes (without the line padding)."""
    plane = frame.planes[0]
    data = bytes(plane)
    return [
        data[r * plane.line_size : r * plane.line_size + plane.width] for r in range(plane.height)
    ]


def _mean(rows: list[bytes], x0: int, x1: int, y0: int, y1: int) -> float:
    values = [v for row in rows[y0:y1] for v in row[x0:x1]]
    return sum(values) / len(values)


def _decode_jpeg(path: Path) -> av.VideoFrame:
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "mjpeg"
        return next(container.decode(video=0))


def _packets(path: Path) -> list[tuple[str, int | None, int | None, Fraction, str]]:
    """Every data packet: stream type, timestamps in seconds, and a digest of its bytes."""
    with av.open(str(path)) as container:
        return [
            (
                packet.stream.type,
                packet.pts * packet.time_base,
                packet.dts * packet.time_base,
                packet.duration,
                hashlib.sha256(bytes(packet)).hexdigest(),
            )
            for packet in container.demux()
            if packet.size
        ]


def _decoded_frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


# --- probe ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), SHAPES)
def test_probe_reads_size_codec_and_duration(clip: ClipFactory, width: int, height: int) -> None:
    info = probe(clip(width=width, height=height, seconds=2.5))

    assert (info.width, info.height) == (width, height)
    assert info.video_codec == "h264"
    assert info.container_format == MP4_FORMAT
    assert info.is_mp4
    assert info.duration_seconds == pytest.approx(2.5, abs=0.1)
    assert info.has_audio is False


def test_probe_sees_the_audio_track(clip: ClipFactory) -> None:
    info = probe(clip(width=640, height=360, with_audio=True))

    assert info.has_audio is True
    assert info.duration_seconds == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize(
    ("rotation", "expected"), [(90, (360, 640)), (-90, (360, 640)), (180, (640, 360))]
)
def test_probe_applies_the_display_rotation(
    clip: ClipFactory, rotation: int, expected: tuple[int, int]
) -> None:
    info = probe(clip(width=640, height=360, rotation=rotation))

    assert (info.width, info.height) == expected


def test_probe_applies_the_sample_aspect_ratio(tmp_path: Path) -> None:
    # 360x360 stored pixels, each 16:9 wide: players show 640x360.
    video = _encode_clip(
        tmp_path / "anamorphic.mp4",
        "libx264",
        {"preset": "ultrafast"},
        size=(360, 360),
        sample_aspect_ratio=Fraction(16, 9),
    )

    assert (probe(video).width, probe(video).height) == (640, 360)


def test_probe_accepts_zero_padding_after_the_last_atom(clip: ClipFactory, tmp_path: Path) -> None:
    padded = tmp_path / "padded.mp4"
    padded.write_bytes(clip(width=360, height=640).read_bytes() + bytes(4096))

    assert probe(padded).duration_seconds == pytest.approx(2.0, abs=0.1)


def test_probe_reads_a_webm(tmp_path: Path) -> None:
    video = _encode_clip(
        tmp_path / "clip.webm",
        "libvpx-vp9",
        {"deadline": "realtime", "cpu-used": "8"},
        audio="libopus",
    )

    info = probe(video)

    assert (info.container_format, info.video_codec) == ("matroska,webm", "vp9")
    assert (info.width, info.height, info.has_audio) == (320, 180, True)
    assert info.moov_at_front is None
    assert not info.is_mp4


def test_probe_of_a_missing_file_is_not_a_video_error(tmp_path: Path) -> None:
    # A missing file is the caller's bug or a storage fault, not a bad upload.
    with pytest.raises(FileNotFoundError):
        probe(tmp_path / "nothing.mp4")


# --- bad inputs ----------------------------------------------------------------------------


def _text(folder: Path, _: Path) -> Path:
    path = folder / "notes.mp4"
    path.write_text("This is not a video.\n" * 200)
    return path


def _png(folder: Path, _: Path) -> Path:
    return _encode_still(folder / "still.png", "png", "rgb24")


def _jpeg(folder: Path, _: Path) -> Path:
    return _encode_still(folder / "still.jpg", "mjpeg", "yuvj420p")


def _jpeg_named_mp4(folder: Path, _: Path) -> Path:
    return _encode_still(folder / "still.mp4", "mjpeg", "yuvj420p")


def _gif(folder: Path, _: Path) -> Path:
    return _write_gif(folder / "anim.gif")


def _empty(folder: Path, _: Path) -> Path:
    path = folder / "empty.mp4"
    path.touch()
    return path


def _first_half(folder: Path, source: Path) -> Path:
    data = source.read_bytes()
    path = folder / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    return path


def _audio_only(folder: Path, _: Path) -> Path:
    return _write_audio_only(folder / "voice.m4a")


def _random_bytes(folder: Path, _: Path) -> Path:
    path = folder / "noise.mp4"
    path.write_bytes(os.urandom(64 * 1024))
    return path


def _mp4_header_then_noise(folder: Path, _: Path) -> Path:
    path = folder / "fake.mp4"
    path.write_bytes(struct.pack(">I4s4sI", 16, b"ftyp", b"isom", 0) + os.urandom(4096))
    return path


BAD_INPUTS = {
    "text": _text,
    "png": _png,
    "jpeg": _jpeg,
    "jpeg named .mp4": _jpeg_named_mp4,
    "gif": _gif,
    "empty": _empty,
    "first half of a faststart mp4": _first_half,
    "audio only": _audio_only,
    "random bytes": _random_bytes,
    "mp4 header then noise": _mp4_header_then_noise,
}


@pytest.mark.parametrize("make_bad", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_not_a_video(
    clip: ClipFactory, tmp_path: Path, make_bad: Callable[[Path, Path], Path]
) -> None:
    path = make_bad(tmp_path, clip(width=360, height=640, with_audio=True))

    with pytest.raises(NotAVideoError) as caught:
        probe(path)

    message = str(caught.value)
    assert message.endswith(".")
    assert len(message) > 10
    assert str(tmp_path) not in message
    assert path.name not in message


def test_first_half_of_a_moov_at_end_mp4_is_not_a_video(clip: ClipFactory, tmp_path: Path) -> None:
    path = _first_half(tmp_path, clip(width=360, height=640, moov_at_end=True))

    with pytest.raises(NotAVideoError, match="incomplete"):
        probe(path)


def test_images_are_named_as_images(tmp_path: Path) -> None:
    for path in (_png(tmp_path, tmp_path), _jpeg(tmp_path, tmp_path), _gif(tmp_path, tmp_path)):
        with pytest.raises(NotAVideoError) as caught:
            probe(path)
        assert caught.value.reason == "image"


@pytest.fixture(scope="module")
def clip_bytes(clip: ClipFactory) -> dict[bool, bytes]:
    return {
        at_end: clip(
            width=128, height=96, seconds=1, with_audio=True, moov_at_end=at_end
        ).read_bytes()
        for at_end in (False, True)
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), at_end=st.booleans())
def test_every_truncation_of_a_clip_is_not_a_video(
    clip_bytes: dict[bool, bytes], data: st.DataObject, at_end: bool
) -> None:
    original = clip_bytes[at_end]
    cut = data.draw(st.integers(min_value=0, max_value=len(original) - 1), label="cut")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cut.mp4"
        path.write_bytes(original[:cut])
        with pytest.raises(NotAVideoError):
            probe(path)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=8192))
def test_arbitrary_bytes_are_not_a_video(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.mp4"
        path.write_bytes(data)
        with pytest.raises(NotAVideoError):
            probe(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_damaged_clip_probes_or_is_refused_never_crashes(
    clip_bytes: dict[bool, bytes], data: st.DataObject
) -> None:
    damaged = bytearray(clip_bytes[False])
    spots = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(damaged) - 1), st.integers(0, 255)),
            min_size=1,
            max_size=20,
        ),
        label="spots",
    )
    for offset, value in spots:
        damaged[offset] = value

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.mp4"
        path.write_bytes(damaged)
        try:
            info = probe(path)
        except NotAVideoError:
            return
        assert info.width > 0
        assert info.height > 0
        assert info.duration_seconds > 0
        # Whatever probes must also give a thumbnail, or a clean MediaError.
        with contextlib.suppress(MediaError):
            write_thumbnail(path, Path(folder) / "thumb.jpg")


# --- moov position and faststart ----------------------------------------------------------


def test_demo_clip_has_moov_first_by_default(clip: ClipFactory) -> None:
    path = clip(width=360, height=640)
    kinds = [atom.kind for atom in top_level_atoms(path)]

    assert kinds.index("moov") < kinds.index("mdat")
    assert moov_at_front(path) is True
    assert probe(path).moov_at_front is True


def test_demo_clip_leaves_moov_at_the_end_when_asked(clip: ClipFactory) -> None:
    path = clip(width=360, height=640, moov_at_end=True)
    kinds = [atom.kind for atom in top_level_atoms(path)]

    assert kinds[-1] == "moov"
    assert moov_at_front(path) is False
    assert probe(path).moov_at_front is False


def _atom(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _large_atom(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload


def _to_end_atom(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 0, kind) + payload


def test_atom_walk_reads_64_bit_and_to_the_end_sizes(tmp_path: Path) -> None:
    ftyp = _atom(b"ftyp", b"isom\x00\x00\x02\x00isom")
    front = tmp_path / "front.mp4"
    front.write_bytes(ftyp + _large_atom(b"moov", bytes(40)) + _to_end_atom(b"mdat", bytes(100)))
    back = tmp_path / "back.mp4"
    back.write_bytes(ftyp + _large_atom(b"mdat", bytes(100)) + _atom(b"moov", bytes(40)))

    atoms = top_level_atoms(front)
    assert [(a.kind, a.size) for a in atoms] == [("ftyp", 20), ("moov", 56), ("mdat", 108)]
    assert not is_truncated(atoms, front.stat().st_size)
    assert moov_at_front(front) is True
    assert [a.kind for a in top_level_atoms(back)] == ["ftyp", "mdat", "moov"]
    assert moov_at_front(back) is False


def test_atom_walk_sees_an_atom_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "cut.mp4"
    path.write_bytes(_atom(b"ftyp", b"isom") + _large_atom(b"mdat", bytes(100))[:-10])

    assert is_truncated(top_level_atoms(path), path.stat().st_size)


@pytest.mark.parametrize(
    "content", [b"", b"hello world, not boxes at all", _atom(b"ftyp", b"isom") + bytes(3)]
)
def test_moov_at_front_refuses_files_without_moov(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.mp4"
    path.write_bytes(content)

    with pytest.raises(NotAVideoError):
        moov_at_front(path)


def test_remux_faststart_moves_moov_first_without_reencoding(
    clip: ClipFactory, tmp_path: Path
) -> None:
    source = clip(width=640, height=360, seconds=3, moov_at_end=True, with_audio=True)
    target = tmp_path / "fast.mp4"

    remux_faststart(source, target)

    assert moov_at_front(target) is True
    before, after = probe(source), probe(target)
    assert after.moov_at_front is True
    assert (after.width, after.height, after.video_codec, after.has_audio) == (
        before.width,
        before.height,
        before.video_codec,
        before.has_audio,
    )
    assert after.duration_seconds == pytest.approx(before.duration_seconds, abs=0.05)
    # Same packets, same bytes, same timestamps: copied, not re-encoded.
    source_packets, target_packets = _packets(source), _packets(target)
    assert target_packets == source_packets
    video = [p for p in target_packets if p[0] == "video"]
    assert len(video) == 72
    assert any(p[1] != p[2] for p in video), "B-frames expected: pts and dts should differ"
    assert _decoded_frame_count(target) == 72


def test_remux_faststart_keeps_the_rotation(clip: ClipFactory, tmp_path: Path) -> None:
    target = tmp_path / "fast.mp4"

    remux_faststart(clip(width=640, height=360, rotation=90, moov_at_end=True), target)

    assert (probe(target).width, probe(target).height) == (360, 640)


def test_remux_faststart_can_rewrite_in_place(clip: ClipFactory, tmp_path: Path) -> None:
    path = tmp_path / "video.mp4"
    path.write_bytes(clip(width=360, height=640, moov_at_end=True).read_bytes())

    remux_faststart(path, path)

    assert moov_at_front(path) is True
    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]


def _video_packets(path: Path) -> list[tuple[Fraction, str]]:
    return [(p[1], p[4]) for p in _packets(path) if p[0] == "video"]


def test_remux_faststart_turns_a_webm_into_an_mp4(tmp_path: Path) -> None:
    source = _encode_clip(
        tmp_path / "clip.webm",
        "libvpx-vp9",
        {"deadline": "realtime", "cpu-used": "8"},
        audio="libopus",
    )
    target = tmp_path / "clip.mp4"

    remux_faststart(source, target)

    info = probe(target)
    assert (info.is_mp4, info.moov_at_front, info.video_codec, info.has_audio) == (
        True,
        True,
        "vp9",
        True,
    )
    assert _video_packets(target) == _video_packets(source)


@pytest.mark.skipif("libsvtav1" not in av.codecs_available, reason="no AV1 encoder in this FFmpeg")
def test_remux_faststart_copies_av1(tmp_path: Path) -> None:
    # AV1 is decoded by libdav1d, a decoder-only codec: the copy must not look for its encoder.
    source = _encode_clip(tmp_path / "av1.mp4", "libsvtav1", {"preset": "10"})
    target = tmp_path / "fast.mp4"

    remux_faststart(source, target)

    assert probe(target).video_codec == "av1"
    assert moov_at_front(target) is True
    assert _video_packets(target) == _video_packets(source)


def test_remux_faststart_refuses_codecs_mp4_cannot_hold(tmp_path: Path) -> None:
    source = _encode_clip(
        tmp_path / "clip.webm", "libvpx", {"deadline": "realtime", "cpu-used": "8"}
    )
    target = tmp_path / "clip.mp4"

    with pytest.raises(MediaError) as caught:
        remux_faststart(source, target)

    assert not isinstance(caught.value, NotAVideoError)  # it is a video, just not MP4-able
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.webm"]


def test_remux_faststart_of_a_non_video_leaves_nothing(tmp_path: Path) -> None:
    source = _text(tmp_path, tmp_path)
    target = tmp_path / "out.mp4"

    with pytest.raises(NotAVideoError):
        remux_faststart(source, target)

    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]


# --- thumbnails ----------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), SHAPES)
def test_thumbnail_keeps_the_aspect_ratio(
    clip: ClipFactory, tmp_path: Path, width: int, height: int
) -> None:
    jpeg = tmp_path / "thumb.jpg"

    write_thumbnail(clip(width=width, height=height), jpeg)

    data = jpeg.read_bytes()
    assert data[:2] == b"\xff\xd8"
    assert data[-2:] == b"\xff\xd9"
    thumb = _decode_jpeg(jpeg)
    assert (thumb.width, thumb.height) == (width, height)  # small clips are not enlarged


def test_thumbnail_of_a_large_clip_is_scaled_to_max_width(
    clip: ClipFactory, tmp_path: Path
) -> None:
    jpeg = tmp_path / "thumb.jpg"

    write_thumbnail(clip(width=1080, height=1920, seconds=1), jpeg, max_width=640)

    thumb = _decode_jpeg(jpeg)
    assert thumb.width == 640
    assert thumb.height / thumb.width == pytest.approx(1920 / 1080, abs=1 / 640)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_thumbnail_of_a_rotated_video_is_upright(tmp_path: Path, rotation: int) -> None:
    # Stored 320x160 with a bright top-left quadrant. Turned 90 degrees counter-clockwise for
    # display it is 160x320 and bright at the bottom left; turned clockwise, at the top right.
    width, height = 320, 160
    rows = [
        (b"\xeb" * (width // 2) + b"\x10" * (width // 2)) if y < height // 2 else b"\x10" * width
        for y in range(height)
    ]
    video = _write_planes_clip(
        tmp_path / "turned.mp4", (width, height), [b"".join(rows)] * 24, rotation=rotation
    )
    jpeg = tmp_path / "thumb.jpg"

    write_thumbnail(video, jpeg)

    thumb = _luma(_decode_jpeg(jpeg))
    tw, th = len(thumb[0]), len(thumb)
    quadrants = {
        "top left": _mean(thumb, 0, tw // 2, 0, th // 2),
        "top right": _mean(thumb, tw // 2, tw, 0, th // 2),
        "bottom left": _mean(thumb, 0, tw // 2, th // 2, th),
        "bottom right": _mean(thumb, tw // 2, tw, th // 2, th),
    }
    expected = {90: "bottom left", -90: "top right", 180: "bottom right"}[rotation]
    assert (tw, th) == ((160, 320) if rotation != 180 else (320, 160))
    assert max(quadrants, key=quadrants.__getitem__) == expected
    assert quadrants[expected] > 200
    assert all(v < 40 for k, v in quadrants.items() if k != expected)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 1.0])
def test_thumbnail_is_taken_at_the_asked_fraction(tmp_path: Path, fraction: float) -> None:
    # 48 flat grey frames (2 s at 24 fps), frame i at luma 20 + 4i, keyframes every 12:
    # the thumbnail's brightness tells which frame it came from.
    width, height, count = 64, 64, 48
    video = _write_planes_clip(
        tmp_path / "ramp.mp4",
        (width, height),
        [bytes([20 + 4 * i]) * (width * height) for i in range(count)],
    )
    jpeg = tmp_path / "thumb.jpg"

    write_thumbnail(video, jpeg, at_fraction=fraction)

    expected_frame = min(round(fraction * count), count - 1)
    limited = 20 + 4 * expected_frame
    full_range = (limited - 16) * 255 / 219  # JPEG stores full-range luma
    thumb = _luma(_decode_jpeg(jpeg))
    assert _mean(thumb, 0, width, 0, height) == pytest.approx(full_range, abs=3)


def test_thumbnail_replaces_the_old_one_and_leaves_no_temporary_file(
    clip: ClipFactory, tmp_path: Path
) -> None:
    jpeg = tmp_path / "thumb.jpg"
    jpeg.write_bytes(b"old")

    write_thumbnail(clip(width=360, height=640), jpeg)

    assert jpeg.read_bytes()[:2] == b"\xff\xd8"
    assert [p.name for p in tmp_path.iterdir()] == ["thumb.jpg"]


def test_thumbnail_of_a_non_video_writes_nothing(tmp_path: Path) -> None:
    jpeg = tmp_path / "thumb.jpg"

    with pytest.raises(NotAVideoError):
        write_thumbnail(_png(tmp_path, tmp_path), jpeg)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["still.png"]


# --- demo clips ----------------------------------------------------------------------------


def test_demo_clip_moves_and_has_every_frame(clip: ClipFactory) -> None:
    path = clip(width=360, height=640)

    with av.open(str(path)) as container:
        frames = [_luma(frame) for frame in container.decode(video=0)]

    assert len(frames) == 48
    assert frames[0] != frames[12] != frames[24]


def test_demo_clip_is_deterministic_per_seed(tmp_path: Path) -> None:
    paths = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        paths[name] = tmp_path / f"{name}.mp4"
        render_clip(paths[name], width=160, height=90 * 2, seconds=0.5, seed=seed)

    assert paths["a"].read_bytes() == paths["b"].read_bytes()
    assert paths["a"].read_bytes() != paths["c"].read_bytes()


@pytest.mark.parametrize(
    "arguments",
    [
        {"width": 361, "height": 640, "seconds": 1},
        {"width": 360, "height": 639, "seconds": 1},
        {"width": 0, "height": 640, "seconds": 1},
        {"width": 360, "height": 640, "seconds": 0},
        {"width": 360, "height": 640, "seconds": 1, "fps": 0},
        {"width": 360, "height": 640, "seconds": 1, "rotation": 45},
    ],
)
def test_render_clip_refuses_impossible_clips(tmp_path: Path, arguments: dict[str, int]) -> None:
    path = tmp_path / "clip.mp4"

    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        render_clip(path, **arguments)  # type: ignore[arg-type]

    assert not path.exists()

"""The media limits as pure rules, and the sample-table reader that feeds them, over files made
here (real clips, patched): what an accepted video can hold passes, one more is refused."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import av
import pytest

from reelvault.generations.deps import media_limits
from reelvault.media.atoms import read_movie
from reelvault.media.errors import NotAVideoError
from reelvault.media.limits import (
    MAX_EDITS,
    MAX_STORABLE_SECONDS,
    MAX_STREAMS,
    MediaLimits,
    MovieFacts,
    StreamFacts,
    TrackFacts,
    check_movie,
    check_streams,
)
from reelvault.media.probe import probe
from reelvault.media.thumbnails import write_thumbnail
from reelvault.settings import Settings
from tests.support import hostile_media
from tests.support.media import clip

LIMITS = MediaLimits()  # 4096 px, 900 s: 216,000 samples a track
VIDEO = TrackFacts(
    handler="vide",
    entries=("avc1",),
    width=1080,
    height=1920,
    samples=720,
    timed_samples=720,
    chunks=30,
    chunk_samples=720,
    edits=1,
    pcm_chunked=False,
)
PCM = TrackFacts(
    handler="soun",
    entries=("sowt",),
    width=0,
    height=0,
    samples=48_000 * 900,
    timed_samples=48_000 * 900,
    chunks=900,
    chunk_samples=48_000 * 900,
    edits=1,
    pcm_chunked=True,
)


def movie(*tracks: TrackFacts, fragment_samples: int = 0) -> MovieFacts:
    return MovieFacts(tracks=tracks, fragment_samples=fragment_samples)


def refusal(movie_facts: MovieFacts) -> NotAVideoError:
    with pytest.raises(NotAVideoError) as caught:
        check_movie(movie_facts, LIMITS)
    return caught.value


# --- check_movie: the claims of the sample tables -------------------------------------------


def test_a_real_track_and_pcm_audio_of_the_longest_accepted_length_pass() -> None:
    check_movie(movie(VIDEO, PCM), LIMITS)


@pytest.mark.parametrize("field", ["samples", "timed_samples", "chunk_samples"])
def test_one_sample_past_the_cap_in_any_table_is_refused(field: str) -> None:
    at_cap = dataclasses.replace(VIDEO, **{field: LIMITS.max_samples})
    check_movie(movie(at_cap), LIMITS)
    over = dataclasses.replace(VIDEO, **{field: LIMITS.max_samples + 1})
    error = refusal(movie(over))
    assert error.reason == "too_many_samples"
    assert error.message == (
        "The video's index claims 216,001 samples in one track; a video of at most 900 seconds "
        "holds at most 216,000."
    )


def test_the_cap_follows_the_duration_limit() -> None:
    assert MediaLimits(max_duration_seconds=60).max_samples == 60 * 240
    assert LIMITS.max_samples == 900 * 240


def test_the_85_million_sample_claim_is_refused() -> None:
    bomb = dataclasses.replace(VIDEO, samples=85_000_000, timed_samples=85_000_000)
    assert "85,000,000 samples" in refusal(movie(bomb)).message


def test_pcm_audio_beyond_its_own_cap_is_refused() -> None:
    over = dataclasses.replace(PCM, samples=LIMITS.max_pcm_samples + 1)
    assert refusal(movie(VIDEO, over)).reason == "too_many_samples"


def test_more_chunks_than_samples_could_fill_is_refused() -> None:
    over = dataclasses.replace(VIDEO, chunks=LIMITS.max_samples + 1)
    assert refusal(movie(over)).reason == "too_many_samples"


def test_fragments_claiming_too_many_samples_are_refused() -> None:
    check_movie(movie(VIDEO, fragment_samples=LIMITS.max_samples), LIMITS)
    assert refusal(movie(VIDEO, fragment_samples=LIMITS.max_samples + 1)).reason == (
        "too_many_samples"
    )


def test_a_long_edit_list_is_refused() -> None:
    check_movie(movie(dataclasses.replace(VIDEO, edits=MAX_EDITS)), LIMITS)
    error = refusal(movie(dataclasses.replace(VIDEO, edits=MAX_EDITS + 1)))
    assert error.reason == "too_many_edits"


def test_more_tracks_than_accepted_are_refused() -> None:
    check_movie(movie(*[VIDEO] * MAX_STREAMS), LIMITS)
    error = refusal(movie(*[VIDEO] * (MAX_STREAMS + 1)))
    assert error.message == "The file has 17 tracks; at most 16 are accepted."


@pytest.mark.parametrize("entry", ["avc1", "avc3", "hvc1", "hev1", "dvh1", "vp09", "av01", "mp4v"])
def test_the_accepted_video_codecs_pass(entry: str) -> None:
    check_movie(movie(dataclasses.replace(VIDEO, entries=(entry,))), LIMITS)


@pytest.mark.parametrize("entry", ["png ", "raw ", "jpeg", "apcn", "mjpa", "rle "])
def test_a_picture_codec_or_raw_frames_are_refused(entry: str) -> None:
    error = refusal(movie(dataclasses.replace(VIDEO, entries=(entry,))))
    assert error.reason == "unsupported_codec"
    assert error.message.startswith(f"The video is encoded as {entry.strip()}, which is not")


def test_a_picture_larger_than_accepted_is_refused() -> None:
    check_movie(movie(dataclasses.replace(VIDEO, width=4096, height=4096)), LIMITS)
    error = refusal(movie(dataclasses.replace(VIDEO, width=16_000, height=16_000)))
    assert error.message == (
        "The video is 16000x16000 pixels; at most 4096 pixels on each side are accepted."
    )


def test_audio_and_metadata_tracks_are_not_held_to_video_codecs() -> None:
    metadata = dataclasses.replace(VIDEO, handler="meta", entries=("mebx",), width=0, height=0)
    check_movie(movie(VIDEO, metadata), LIMITS)


# --- check_streams: what FFmpeg reports before the first frame --------------------------------

H264 = StreamFacts(kind="video", codec="h264", width=1920, height=1080, attached_picture=False)


def test_an_ordinary_video_passes_at_the_longest_duration() -> None:
    audio = StreamFacts(kind="audio", codec="aac", width=0, height=0, attached_picture=False)
    check_streams([H264, audio], 900.0, LIMITS)


def test_a_duration_past_the_limit_is_refused() -> None:
    with pytest.raises(NotAVideoError) as caught:
        check_streams([H264], 3_000_000_000.0, LIMITS)
    assert caught.value.message == (
        "The video lasts 3,000,000,000 seconds; at most 900 seconds are accepted."
    )


@pytest.mark.parametrize("codec", ["png", "mjpeg", "rawvideo", "ffv1", "gif", ""])
def test_a_stream_outside_the_allowlist_is_refused(codec: str) -> None:
    with pytest.raises(NotAVideoError) as caught:
        check_streams([dataclasses.replace(H264, codec=codec)], 10.0, LIMITS)
    assert caught.value.reason == "unsupported_codec"


def test_cover_art_is_not_held_to_the_codec_allowlist_but_to_the_size() -> None:
    cover = StreamFacts(kind="video", codec="mjpeg", width=600, height=600, attached_picture=True)
    check_streams([H264, cover], 10.0, LIMITS)
    with pytest.raises(NotAVideoError):
        check_streams([H264, dataclasses.replace(cover, width=16_000)], 10.0, LIMITS)


def test_the_duration_limit_can_never_exceed_what_the_database_stores() -> None:
    MediaLimits(max_duration_seconds=MAX_STORABLE_SECONDS)
    with pytest.raises(ValueError, match="max_duration_seconds"):
        MediaLimits(max_duration_seconds=MAX_STORABLE_SECONDS + 1)
    # A setting past it is held to it, not turned into a 500 at the first import.
    huge = media_limits(Settings(media_max_duration_seconds=10**12))
    assert huge.max_duration_seconds == MAX_STORABLE_SECONDS
    assert media_limits(Settings()) == LIMITS


# --- read_movie: the claims, read from real files ---------------------------------------------


def test_a_real_clip_reads_as_it_is(tmp_path: Path) -> None:
    facts = read_movie(clip(320, 180, 2.0, with_audio=True))
    assert facts is not None
    video, audio = facts.tracks
    assert (video.handler, video.entries, video.width, video.height) == (
        "vide",
        ("avc1",),
        320,
        180,
    )
    assert video.samples == video.timed_samples == video.chunk_samples == 48
    assert (audio.handler, audio.entries, audio.pcm_chunked) == ("soun", ("mp4a",), False)
    check_movie(facts, LIMITS)


def test_the_sample_table_bomb_claims_85_million(tmp_path: Path) -> None:
    facts = read_movie(hostile_media.sample_table_bomb(tmp_path))
    assert facts is not None
    assert facts.tracks[0].samples == facts.tracks[0].timed_samples == 85_000_000


def test_the_png_frame_reads_as_png_of_16000_pixels(tmp_path: Path) -> None:
    facts = read_movie(hostile_media.single_png_frame(tmp_path))
    assert facts is not None
    track = facts.tracks[0]
    assert (track.entries, track.width, track.height) == (("png ",), 16_000, 16_000)


def test_uncompressed_audio_is_indexed_by_chunk_as_ffmpeg_does(tmp_path: Path) -> None:
    path = tmp_path / "pcm.mov"
    with av.open(str(clip(64, 64, 1.0))) as source, av.open(str(path), "w", format="mov") as out:
        video = out.add_stream_from_template(source.streams.video[0], opaque=True)
        audio = out.add_stream("pcm_s16le", rate=48_000, layout="mono")
        for packet in source.demux(source.streams.video[0]):
            if packet.size:
                packet.stream = video
                out.mux(packet)
        frame = av.AudioFrame(format="s16", layout="mono", samples=48_000)
        frame.sample_rate, frame.pts = 48_000, 0
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for packet in [*audio.encode(frame), *audio.encode(None)]:
            out.mux(packet)
    facts = read_movie(path)
    assert facts is not None
    pcm = next(track for track in facts.tracks if track.handler == "soun")
    assert pcm.pcm_chunked and pcm.samples == 48_000
    check_movie(facts, LIMITS)


def test_fragments_are_counted(tmp_path: Path) -> None:
    path = fragmented(tmp_path)
    facts = read_movie(path)
    assert facts is not None
    assert facts.fragment_samples == 48
    check_movie(facts, LIMITS)


def test_a_fragment_claiming_85_million_samples_is_refused(tmp_path: Path) -> None:
    data = bytearray(fragmented(tmp_path).read_bytes())
    trun = hostile_media.find(data, b"trun")[0]
    # No per-sample fields: the claim costs no bytes at all (FFmpeg still loops over it).
    struct.pack_into(">I", data, trun.body, 0x000001)
    struct.pack_into(">I", data, trun.body + 4, 85_000_000)
    path = tmp_path / "trun-bomb.mp4"
    path.write_bytes(bytes(data))
    facts = read_movie(path)
    assert facts is not None and facts.fragment_samples >= 85_000_000
    with pytest.raises(NotAVideoError):
        check_movie(facts, LIMITS)


def fragmented(folder: Path) -> Path:
    path = folder / "fragmented.mp4"
    options = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
    with (
        av.open(str(clip(320, 180, 2.0))) as source,
        av.open(str(path), "w", format="mp4", options=options) as out,
    ):
        video = out.add_stream_from_template(source.streams.video[0], opaque=True)
        for packet in source.demux(source.streams.video[0]):
            if packet.size:
                packet.stream = video
                out.mux(packet)
    return path


@pytest.mark.parametrize("table", [b"stco", b"stsc", b"stts"])
def test_a_table_longer_than_its_box_is_damaged(tmp_path: Path, table: bytes) -> None:
    # FFmpeg would read the boxes that follow as entries of the table.
    data = bytearray(clip(64, 64, 0.5).read_bytes())
    box = hostile_media.find(data, table)[0]
    struct.pack_into(">I", data, box.body + 4, 0x0FFFFFFF)
    path = tmp_path / "long-table.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(NotAVideoError) as caught:
        read_movie(path)
    assert caught.value.reason == "malformed_mp4"


def test_a_compressed_movie_header_is_refused(tmp_path: Path) -> None:
    # cmov: zlib inside the index, which FFmpeg inflates to whatever size it claims.
    data = bytearray(clip(64, 64, 0.5).read_bytes())
    mvhd = hostile_media.find(data, b"mvhd")[0]
    data[mvhd.offset + 4 : mvhd.offset + 8] = b"cmov"
    path = tmp_path / "cmov.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(NotAVideoError) as caught:
        read_movie(path)
    assert caught.value.reason == "compressed_index"


def test_what_is_not_a_box_structure_is_left_to_ffmpeg(tmp_path: Path) -> None:
    assert read_movie(hostile_media.foreign_codec(tmp_path)) is None  # Matroska
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    assert read_movie(text) is None


# --- the odd media that gave a 500 ----------------------------------------------------------


def test_a_thumbnail_seek_past_int64_ticks_takes_a_picture_instead_of_overflowing(
    tmp_path: Path,
) -> None:
    video = hostile_media.overflowing_seek(tmp_path)
    jpeg = tmp_path / "thumb.jpg"
    write_thumbnail(video, jpeg)  # OverflowError (a 500) before
    assert jpeg.read_bytes()[:3] == b"\xff\xd8\xff"


def test_a_duration_past_2_31_seconds_is_read_and_refused(tmp_path: Path) -> None:
    path = hostile_media.long_duration(tmp_path)
    assert probe(path).duration_seconds > 2**31  # what overflowed PostgreSQL's INTEGER
    with pytest.raises(NotAVideoError) as caught:
        probe(path, limits=LIMITS)
    assert caught.value.reason == "too_long"

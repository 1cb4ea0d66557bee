"""What no ad video needs, named in one place and refused before anything decodes it.

Pure rules over facts read elsewhere: `check_movie` over the MP4/MOV sample tables (read by
`atoms.read_movie` before FFmpeg opens the file, because FFmpeg's mov demuxer allocates one
index entry per claimed sample while it opens), `check_streams` over what FFmpeg reports after
opening and before the first frame is decoded. Each refusal is a `NotAVideoError` whose
sentence says what was found and what is accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reelvault.media.errors import NotAVideoError

# Samples per second and track that any real video stays under: 120 fps slow motion twice over
# (AAC at 96 kHz is 94 packets a second). The per-track cap is this times the duration limit.
MAX_SAMPLE_RATE = 240
# Uncompressed PCM audio in MOV counts one sample per audio frame (FFmpeg indexes it by chunk):
# its cap is the duration limit at 384 kHz.
MAX_PCM_RATE = 384_000
# Video, audio, timecode and a few metadata tracks (an iPhone MOV has six).
MAX_STREAMS = 16
# Edit lists hold one or two entries; FFmpeg copies the index once per entry.
MAX_EDITS = 64
# FFmpeg's codec names of the video codecs accepted, and how people know them.
VIDEO_CODECS: dict[str, str] = {
    "h264": "H.264",
    "hevc": "HEVC",
    "vp9": "VP9",
    "av1": "AV1",
    "mpeg4": "MPEG-4 Part 2",
}
# MP4/MOV sample-entry codes of those codecs (Dolby Vision variants of AVC and HEVC included).
MP4_VIDEO_ENTRIES: dict[str, str] = {
    "avc1": "h264",
    "avc2": "h264",
    "avc3": "h264",
    "avc4": "h264",
    "dva1": "h264",
    "dvav": "h264",
    "hvc1": "hevc",
    "hev1": "hevc",
    "dvh1": "hevc",
    "dvhe": "hevc",
    "vp09": "vp9",
    "av01": "av1",
    "mp4v": "mpeg4",
}
# The duration is stored in a 32-bit INTEGER column (PostgreSQL): never accept more.
MAX_STORABLE_SECONDS = 2**31 - 1
# A child gets this many times its CPU allowance in wall-clock time (it may wait for a core).
WALL_CLOCK_FACTOR = 2


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """The limits one import is held to; `REELVAULT_MEDIA_*` settings fill them in."""

    max_dimension: int = 4096
    max_duration_seconds: int = 900
    memory_bytes: int = 1024**3
    cpu_seconds: int = 60
    jobs: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.max_duration_seconds <= MAX_STORABLE_SECONDS:
            raise ValueError(f"max_duration_seconds must be 1..{MAX_STORABLE_SECONDS}")
        if min(self.max_dimension, self.memory_bytes, self.cpu_seconds, self.jobs) < 1:
            raise ValueError("media limits must be positive")

    @property
    def max_samples(self) -> int:
        """The most samples one track of an accepted video can hold."""
        return self.max_duration_seconds * MAX_SAMPLE_RATE

    @property
    def max_pcm_samples(self) -> int:
        return self.max_duration_seconds * MAX_PCM_RATE

    @property
    def wall_seconds(self) -> float:
        return self.cpu_seconds * WALL_CLOCK_FACTOR


@dataclass(frozen=True, slots=True)
class TrackFacts:
    """One MP4/MOV track as its sample tables describe it (entry counts as claimed)."""

    handler: str  # "vide", "soun", "meta", ...
    entries: tuple[str, ...]  # the sample-entry codes in stsd
    width: int  # of the first visual sample entry; 0 for other tracks
    height: int
    samples: int  # stsz/stz2 sample_count
    timed_samples: int  # the sum of the stts counts
    chunks: int  # stco/co64 entry count
    chunk_samples: int  # samples that stsc puts into those chunks
    edits: int  # elst entry count
    pcm_chunked: bool  # fixed-size audio with one stts entry of 1: FFmpeg indexes it by chunk


@dataclass(frozen=True, slots=True)
class MovieFacts:
    tracks: tuple[TrackFacts, ...]
    fragment_samples: int  # the most samples that movie fragments (trun) give one track


def check_movie(movie: MovieFacts, limits: MediaLimits) -> None:
    """Refuse an MP4/MOV whose tables claim more than an accepted video can hold."""
    check_stream_count(len(movie.tracks))
    for track in movie.tracks:
        if track.handler == "vide":
            _check_video_entry(track, limits)
        cap = limits.max_pcm_samples if track.pcm_chunked else limits.max_samples
        claimed = max(track.samples, track.timed_samples, track.chunk_samples)
        if claimed > cap or track.chunks > limits.max_samples:
            raise too_many_samples(claimed, cap, limits)
        if track.edits > MAX_EDITS:
            raise NotAVideoError(
                f"The video's edit list has {track.edits:,} entries; at most {MAX_EDITS} are "
                "accepted.",
                reason="too_many_edits",
            )
    if movie.fragment_samples > limits.max_samples:
        raise too_many_samples(movie.fragment_samples, limits.max_samples, limits)


def too_many_samples(claimed: int, cap: int, limits: MediaLimits) -> NotAVideoError:
    return NotAVideoError(
        f"The video's index claims {claimed:,} samples in one track; a video of at most "
        f"{limits.max_duration_seconds:,} seconds holds at most {cap:,}.",
        reason="too_many_samples",
    )


def _check_video_entry(track: TrackFacts, limits: MediaLimits) -> None:
    for entry in track.entries:
        if entry not in MP4_VIDEO_ENTRIES:
            raise unsupported_codec(entry.strip() or "an unnamed codec")
    check_dimensions(track.width, track.height, limits)


@dataclass(frozen=True, slots=True)
class StreamFacts:
    """One stream as FFmpeg reports it after opening the file, before any frame is decoded."""

    kind: str  # "video", "audio", "subtitle", "data", ...
    codec: str  # FFmpeg's canonical codec name, "" where FFmpeg has none
    width: int
    height: int
    attached_picture: bool  # cover art: never decoded by us, never stored


def check_streams(
    streams: Sequence[StreamFacts], duration_seconds: float, limits: MediaLimits
) -> None:
    """Refuse a file FFmpeg has opened whose streams or duration no ad video needs."""
    check_stream_count(len(streams))
    for stream in streams:
        if stream.kind != "video":
            continue
        check_dimensions(stream.width, stream.height, limits)
        if not stream.attached_picture and stream.codec not in VIDEO_CODECS:
            raise unsupported_codec(stream.codec or "an unknown codec")
    check_duration(duration_seconds, limits)


def check_stream_count(count: int) -> None:
    if count > MAX_STREAMS:
        raise NotAVideoError(
            f"The file has {count:,} tracks; at most {MAX_STREAMS} are accepted.",
            reason="too_many_streams",
        )


def check_dimensions(width: int, height: int, limits: MediaLimits) -> None:
    if max(width, height) > limits.max_dimension:
        raise NotAVideoError(
            f"The video is {width}x{height} pixels; at most {limits.max_dimension} pixels on "
            "each side are accepted.",
            reason="too_large",
        )


def check_duration(seconds: float, limits: MediaLimits) -> None:
    if seconds > limits.max_duration_seconds:
        raise NotAVideoError(
            f"The video lasts {seconds:,.0f} seconds; at most {limits.max_duration_seconds:,} "
            "seconds are accepted.",
            reason="too_long",
        )


def unsupported_codec(codec: str) -> NotAVideoError:
    accepted = ", ".join(VIDEO_CODECS.values())
    return NotAVideoError(
        f"The video is encoded as {codec}, which is not accepted; use one of {accepted}.",
        reason="unsupported_codec",
    )

"""Where an MP4's index (the `moov` atom) sits, and moving it to the front without re-encoding.

A browser can start playing an MP4 only once it has read `moov`. With `moov` after the media
data (`mdat`), as many encoders write it, the player must first fetch the file's end: one more
range request before the first frame, or a whole download where ranges are not used.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import av
from av.container import InputContainer, OutputContainer
from av.stream import Stream

from reelvault.media.errors import MediaError
from reelvault.media.probe import VideoInfo, probe


def remux_faststart(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Write `src` to `dst` as an MP4 with `moov` first, copying the packets (no re-encoding).

    Keeps every video and audio stream (cover art, subtitles and data tracks are dropped).
    The result is verified (it probes, decodes, and has `moov` first) before it replaces
    `dst` atomically; `src` and `dst` may be the same path.
    Raises `NotAVideoError` where `src` is not a video, `MediaError` where its streams cannot
    be stored in an MP4 without re-encoding.
    """
    source_info = probe(src)
    target = Path(dst)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        _remux(src, tmp_name)
        result = probe(tmp_name)
        if not result.moov_at_front or not _same_video(source_info, result):
            raise MediaError("The video could not be rewritten for streaming.", reason="remux")
        _fsync(tmp_name)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _remux(src: str | os.PathLike[str], dst: str) -> None:
    try:
        with (
            av.open(str(src), metadata_errors="replace") as source,
            av.open(dst, "w", format="mp4", options={"movflags": "faststart"}) as target,
        ):
            _copy_packets(source, target)
    except av.FFmpegError as exc:
        raise MediaError("The video could not be rewritten for streaming.", reason="remux") from exc


def _copy_packets(source: InputContainer, target: OutputContainer) -> None:
    inputs = [s for s in source.streams if _is_copied(s)]
    outputs: dict[int, Stream] = {}
    for stream in inputs:
        try:
            # opaque: keep the decoder's codec; an encoder of that name may not exist
            # (AV1 is decoded by libdav1d, which encodes nothing).
            outputs[stream.index] = target.add_stream_from_template(stream, opaque=True)
        except ValueError as exc:  # the MP4 muxer does not take this codec
            raise MediaError(
                "The video's codecs cannot be stored in an MP4 without re-encoding.",
                reason="unsupported_codec",
            ) from exc
    for packet in source.demux(inputs):
        if packet.size == 0:  # the demuxer's end-of-stream marker, not data
            continue
        # The packet keeps its timestamps and time base; mux rescales them to the output stream.
        packet.stream = outputs[packet.stream_index]
        target.mux(packet)


def _is_copied(stream: Stream) -> bool:
    if stream.type == "audio":
        return True
    return stream.type == "video" and not stream.disposition & av.stream.Disposition.attached_pic


def _same_video(before: VideoInfo, after: VideoInfo) -> bool:
    def facts(info: VideoInfo) -> tuple[str, int, int, bool]:
        return info.video_codec, info.width, info.height, info.has_audio

    # Durations may differ by an audio priming frame or edit-list rounding, never by more.
    close = abs(before.duration_seconds - after.duration_seconds) < 0.1
    return close and facts(before) == facts(after)


def _fsync(path: str) -> None:
    with open(path, "rb+") as file:
        os.fsync(file.fileno())

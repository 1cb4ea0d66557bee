"""Turn an uploaded file into a stored video: probe, faststart where needed, thumbnail.

Runs in a confined child process (`media.child`, started by `media.jobs`) for untrusted files;
everything it writes stays in the operation's own folder until the caller moves it into place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reelvault.media.errors import MediaError, NotAVideoError
from reelvault.media.faststart import remux_faststart
from reelvault.media.limits import MediaLimits
from reelvault.media.probe import VideoInfo, probe
from reelvault.media.thumbnails import write_thumbnail

FASTSTART_NAME = "faststart.mp4"
THUMBNAIL_NAME = "thumbnail.jpg"


@dataclass(frozen=True)
class PreparedVideo:
    video: Path
    thumbnail: Path
    info: VideoInfo
    size: int


def prepare_video(
    upload: Path, workdir: Path, *, limits: MediaLimits | None = None
) -> PreparedVideo:
    """`limits`: refuse what they exclude before decoding it (see `media.limits`)."""
    info = probe(upload, limits=limits)
    video = upload
    if not (info.is_mp4 and info.moov_at_front):
        # moov at the end makes players wait for the whole file; other containers are
        # rewritten as MP4 so every stored video can be served as video/mp4. No re-encoding.
        video = workdir / FASTSTART_NAME
        try:
            remux_faststart(upload, video)
        except NotAVideoError:
            raise
        except MediaError as exc:
            raise NotAVideoError(
                "This video's streams cannot be stored as MP4 without re-encoding.",
                reason="not_mp4_compatible",
            ) from exc
        upload.unlink()
        info = probe(video)
    thumbnail = workdir / THUMBNAIL_NAME
    try:
        # A box of 640 px on the long side keeps portrait thumbnails as light as landscape ones.
        write_thumbnail(video, thumbnail, max_width=thumbnail_width(info.width, info.height))
    except MediaError as exc:
        raise NotAVideoError(
            "No picture could be taken from this video.", reason="no_thumbnail"
        ) from exc
    return PreparedVideo(video, thumbnail, info, video.stat().st_size)


def thumbnail_width(width: int, height: int, box: int = 640) -> int:
    if height <= width:
        return box
    return max(2, round(box * width / height))

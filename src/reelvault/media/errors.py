"""Domain errors of the media toolkit.

Messages are sentences a person can read and are safe to show in an API response:
they never contain a file-system path or FFmpeg's own wording.
"""

from __future__ import annotations


class MediaError(Exception):
    """A media file could not be read or written as asked."""

    def __init__(self, message: str, *, reason: str = "media_error") -> None:
        super().__init__(message)
        self.message = message
        # A stable, machine-readable key for logs and metrics; the message may be reworded.
        self.reason = reason


class NotAVideoError(MediaError):
    """The file is not a video this service can play: an image, text, audio, or a broken file."""

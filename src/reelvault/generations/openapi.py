"""What Litestar's generator cannot see, documented by hand: the import's streamed multipart
body, and the range and conditional headers of the video endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.enums import ParamType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Parameter,
    RequestBody,
    Schema,
)


@dataclass
class ImportOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The video file and the prompt it was generated from",
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["prompt", "file"],
                        properties={
                            "prompt": Schema(
                                type=OpenAPIType.STRING, min_length=1, max_length=2000
                            ),
                            "file": Schema(
                                type=OpenAPIType.STRING,
                                format="binary",  # type: ignore[arg-type]
                                description="An MP4, MOV, WebM or MKV video",
                            ),
                        },
                    )
                )
            },
        )


# The request headers the range engine reads (RFC 9110 sections 13 and 14); the handler takes
# them from the raw request, so Litestar's generator cannot see them.
_VIDEO_HEADERS = {
    "Range": "`bytes=a-b`, `bytes=a-`, `bytes=-n`, or several ranges separated by commas",
    "If-Range": "An ETag or HTTP date: the range is honoured only if it still names this file",
    "If-None-Match": "ETags: 304 when one matches",
    "If-Modified-Since": "HTTP date: 304 when the file is not newer",
    "If-Match": "ETags: 412 when none matches",
    "If-Unmodified-Since": "HTTP date: 412 when the file is newer",
}


@dataclass
class VideoOperation(Operation):
    def __post_init__(self) -> None:
        self.parameters = [
            *(self.parameters or []),
            *(
                Parameter(
                    name=name,
                    param_in=ParamType.HEADER,
                    required=False,
                    description=description,
                    schema=Schema(type=OpenAPIType.STRING),
                )
                for name, description in _VIDEO_HEADERS.items()
            ),
        ]


# Answers that are not errors (errors are documented in one place: reelvault.openapi).
VIDEO_RESPONSES = {
    206: ResponseSpec(None, description="The requested byte range(s)", media_type="video/mp4"),
    304: ResponseSpec(None, description="Not modified"),
}

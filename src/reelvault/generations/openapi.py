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

# `POST /api/generations` with a JSON body: what a worker is to make.
GENERATION_REQUEST = Schema(
    type=OpenAPIType.OBJECT,
    required=["prompt"],
    properties={
        "prompt": Schema(type=OpenAPIType.STRING, min_length=1, max_length=2000),
        "duration": Schema(
            type=OpenAPIType.INTEGER, minimum=1, maximum=60, default=15, description="Seconds"
        ),
        "aspect_ratio": Schema(
            type=OpenAPIType.STRING, enum=["9:16", "16:9", "1:1"], default="9:16"
        ),
    },
    additional_properties=False,
)


@dataclass
class ImportOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description=(
                "JSON: request a generation (a worker makes it; it starts pending). "
                "multipart/form-data: import a video file and the prompt it was generated from"
            ),
            content={
                "application/json": OpenAPIMediaType(schema=GENERATION_REQUEST),
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
                ),
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

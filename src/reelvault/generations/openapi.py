"""The import's request body, documented by hand: the handler streams the raw body itself
instead of letting Litestar parse (and buffer) the multipart form."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema


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

"""The complete call's streamed multipart body, which Litestar's generator cannot see."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema


@dataclass
class CompleteOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The finished video, the job's lease token, and what it cost",
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["lease_token", "file"],
                        properties={
                            "lease_token": Schema(type=OpenAPIType.STRING, max_length=64),
                            "cost": Schema(
                                type=OpenAPIType.NUMBER,
                                minimum=0,
                                description="USD",
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

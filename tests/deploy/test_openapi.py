"""The OpenAPI document is the contract clients are generated from: schemathesis sends its
generated requests (valid and invalid) to every operation, through Nginx, as a signed-in user
with a real video, and every answer must be documented (status code, content type, body
schema) and never a 5xx."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import tempfile
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from reelvault.app import create_app
from reelvault.settings import Settings
from tests.deploy.conftest import Stack
from tests.support.factories import PASSWORD
from tests.support.media import clip

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Caller:
    """A signed-in user with one imported video, and a way to make more of them."""

    base_url: str
    email: str
    token: str
    video_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stay_signed_in(self) -> None:
        """A generated case may be a logout, which ends the token: sign in again after one."""
        me = httpx.get(f"{self.base_url}/api/auth/me", headers=self.auth, timeout=30)
        if me.status_code == 401:
            login = httpx.post(
                f"{self.base_url}/api/auth/login",
                json={"email": self.email, "password": PASSWORD},
                timeout=30,
            )
            assert login.status_code == 200, login.text
            self.token = login.json()["access_token"]

    def import_video(self) -> str:
        response = httpx.post(
            f"{self.base_url}/api/generations",
            data={"prompt": "For schemathesis"},
            files={"file": ("c.mp4", clip(160, 90, 1.0).read_bytes(), "video/mp4")},
            headers=self.auth,
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]


@pytest.fixture(scope="module")
def caller(stack: Stack) -> Caller:
    email = "schemathesis@example.com"
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
    caller = Caller(stack.base_url, email, login.json()["access_token"], "")
    caller.video_id = caller.import_video()
    return caller


def served_document() -> dict:
    """The document the app serves at /schema/openapi.json, made at collection time (pytest
    needs the operations before the live stack starts); the test below checks that the live
    app serves this very document."""
    with tempfile.TemporaryDirectory() as workdir:
        app = create_app(Settings(data_dir=Path(workdir)).resolved())
        return json.loads(json.dumps(app.openapi_schema.to_schema()))


DOCUMENT = served_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_live_app_serves_this_document(stack: Stack) -> None:
    assert httpx.get(f"{stack.base_url}/schema/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_documented(case: schemathesis.Case, caller: Caller) -> None:
    """About half the cases that name a generation name the caller's real video instead (a
    fresh one for a DELETE, so the others keep theirs): chosen from the generated id, so a
    failing case replays the same way."""
    caller.stay_signed_in()
    generated = (case.path_parameters or {}).get("generation_id")
    if generated is not None and zlib.crc32(str(generated).encode()) % 2 == 0:
        is_delete = case.method.upper() == "DELETE"
        case.path_parameters["generation_id"] = (
            caller.import_video() if is_delete else caller.video_id
        )
    case.call_and_validate(base_url=caller.base_url, headers=caller.auth, checks=CHECKS, timeout=30)


# What openapi-python-client may leave out of the client, and why.
TOLERATED_GENERATOR_WARNINGS = (
    # It reads only JSON (and octet-stream) bodies: the video and the thumbnail come back as
    # raw bytes (`.content`), which is all a client needs of them.
    "Unsupported content_type video/mp4",
    "Unsupported content_type image/jpeg",
)


def generated_client(document: bytes, workdir: Path) -> ModuleType:
    """A Python package generated from the document by openapi-python-client, imported;
    every warning of the generator must be one of the tolerated ones."""
    (workdir / "openapi.json").write_bytes(document)
    package = "reelvault_generated_client"
    generated = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(workdir / "openapi.json"),
            "--output-path",
            str(workdir / package),
            "--meta",
            "none",
        ],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    )
    warnings = re.findall(r"WARNING parsing (.+?) within [^\n]*\n\n([^\n]*)", generated.stderr)
    unexplained = [
        (operation, why)
        for operation, why in warnings
        if not any(tolerated in why for tolerated in TOLERATED_GENERATOR_WARNINGS)
    ]
    assert unexplained == [], generated.stderr
    sys.path.insert(0, str(workdir))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(workdir))


def test_a_generated_client_signs_in_lists_reads_a_range_and_deletes(
    stack: Stack, tmp_path: Path
) -> None:
    client_package = generated_client(
        httpx.get(f"{stack.base_url}/schema/openapi.json").content, tmp_path
    )
    name = client_package.__name__

    def api(module: str) -> ModuleType:
        return importlib.import_module(f"{name}.api.{module}")

    models = importlib.import_module(f"{name}.models")
    email = f"generated-{uuid.uuid4().hex[:8]}@example.com"
    credentials = models.Credentials(email=email, password=PASSWORD)

    anonymous = client_package.Client(base_url=stack.base_url)
    account = api("authentication.api_auth_register_register").sync(
        client=anonymous, body=credentials
    )
    assert account.email == email
    token = api("authentication.api_auth_login_login").sync(
        client=anonymous, body=models.LoginCredentials(email=email, password=PASSWORD)
    )
    signed_in = client_package.AuthenticatedClient(
        base_url=stack.base_url, token=token.access_token
    )

    source = clip(320, 180, 1.0).read_bytes()
    # POST /api/generations takes a JSON request or a multipart import; the generated code for
    # an operation with two bodies does not run (openapi-python-client leaves `Unset`
    # undefined there), so the import goes over plain HTTP and the client does the rest.
    imported = httpx.post(
        f"{stack.base_url}/api/generations",
        headers={"Authorization": f"Bearer {token.access_token}"},
        data={"prompt": "Through a generated client"},
        files={"file": ("c.mp4", source, "video/mp4")},
        timeout=60,
    )
    assert imported.status_code == 201, imported.text
    item = api("generations.api_generations_generation_id_get_generation").sync(
        generation_id=imported.json()["id"], client=signed_in
    )
    assert item.status == models.GenerationStatus.COMPLETED

    page = api("generations.api_generations_list_generations").sync(client=signed_in, limit=10)
    assert page.total == 1
    assert [listed.id for listed in page.generations] == [item.id]

    stored = (stack.settings.media_root / "videos" / f"{item.id}.mp4").read_bytes()
    ranged = api("media.api_video_generation_id_get_video").sync_detailed(
        generation_id=str(item.id), client=signed_in.with_headers({"Range": "bytes=100-1099"})
    )
    assert ranged.status_code == 206
    assert ranged.content == stored[100:1100]

    deleted = api("generations.api_generations_generation_id_delete_generation").sync(
        generation_id=str(item.id), client=signed_in
    )
    assert deleted.message == "Video deleted successfully"
    assert str(deleted.generation_id) == str(item.id)
    gone = api("generations.api_generations_generation_id_get_generation").sync_detailed(
        generation_id=str(item.id), client=signed_in
    )
    assert gone.status_code == 404

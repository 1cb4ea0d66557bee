"""The application factory: settings in, a configured Litestar app out; no global state."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import msgspec
from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from reelvault.accounts.auth import (
    build_jwt_auth,
    cookie_requests_from_own_origin,
    json_bodies_only,
)
from reelvault.accounts.closure import AccountClosureController
from reelvault.accounts.controllers import AuthController
from reelvault.accounts.deps import provide_current_user, provide_owner, provide_users
from reelvault.accounts.passwords import Passwords
from reelvault.cli import ReelvaultCLIPlugin
from reelvault.db import build_sqlalchemy_config
from reelvault.delivery.responder import MediaDelivery
from reelvault.errors import DomainError, exception_handlers, http_error_handler
from reelvault.events.controllers import EventsController
from reelvault.events.streams import LiveEvents
from reelvault.generations.controllers import GenerationController, MediaController
from reelvault.generations.deps import media_limits
from reelvault.generations.recovery import recover_interrupted_operations
from reelvault.generations.services import GenerationService
from reelvault.generations.storyboard_controllers import StoryboardController
from reelvault.generations.storyboards import StoryboardMaker
from reelvault.health import HealthController
from reelvault.media.jobs import MediaJobs
from reelvault.observability import (
    MetricsController,
    install_request_context,
    logging_config,
)
from reelvault.openapi import document_errors
from reelvault.pages import client_route_handler, not_found_handler
from reelvault.security_headers import add_security_headers
from reelvault.settings import Settings
from reelvault.storage.backend import MediaBackend, build_backend
from reelvault.storage.store import MediaStore
from reelvault.workers.auth import worker_key_auth
from reelvault.workers.controllers import WorkerController
from reelvault.workers.expiry import LeaseExpiry

# The wheel carries the gallery inside the package; a source checkout keeps it at the top.
_PACKAGED_WEB = Path(__file__).resolve().parent / "web"
WEB_DIR = _PACKAGED_WEB if _PACKAGED_WEB.is_dir() else Path(__file__).resolve().parents[2] / "web"


def create_app(
    settings: Settings | None = None,
    *,
    store: MediaStore | None = None,
    backend: MediaBackend | None = None,
) -> Litestar:
    settings = settings or Settings.from_env()
    settings.ensure_directories()
    store = store or MediaStore(settings.media_root)
    store.prepare()
    db_config = build_sqlalchemy_config(settings)
    backend = backend or build_backend(settings, store, db_config.get_session)
    delivery = MediaDelivery(
        store,
        settings.media_delivery,
        settings.accel_prefix,
        # With a bucket, every media answer comes from it (the backend's one client).
        objects=getattr(backend, "objects", None),
        presign_seconds=settings.s3_presign_seconds,
    )
    jwt_auth = build_jwt_auth(settings, db_config.get_engine())
    passwords = Passwords(settings.password_hash_workers)
    # Settles leases that ran out, every 2 s in every process (they agree: one statement).
    lease_expiry = LeaseExpiry(db_config, settings.max_attempts)
    # One runner of media children for requests and storyboards alike: its bound on children
    # at once holds across both. Storyboards are made one at a time, never in a request.
    media_jobs = MediaJobs(media_limits(settings))
    storyboards = StoryboardMaker(
        db_config.get_session,
        backend,
        media_jobs,
        store,
        background=settings.storyboards == "background",
    )
    # /api/worker/...: worker keys, never user tokens (the JWT auth excludes these paths).
    workers = Router(
        path="/",
        route_handlers=[WorkerController],
        middleware=[worker_key_auth(db_config.get_engine())],
    )

    async def refetch_item(generation_id: UUID, owner_id: UUID) -> str | None:
        # An event too large for a PostgreSQL notification is read back as the API shows it.
        async with db_config.get_session() as session:
            try:
                item = await GenerationService(
                    session, store=store, backend=backend
                ).item_for_owner(generation_id, owner_id)
            except DomainError:
                return None
        return msgspec.json.encode(item).decode()

    live_events = LiveEvents.build(settings, db_config.get_engine(), refetch_item)

    api = Router(
        path="/",
        route_handlers=[
            AuthController,
            AccountClosureController,
            EventsController,
            GenerationController,
            MediaController,
            StoryboardController,
            workers,
        ],
        guards=[cookie_requests_from_own_origin, json_bodies_only],
        dependencies={
            "users": Provide(provide_users),
            "owner": Provide(provide_owner, sync_to_thread=False),
            "current_user": Provide(provide_current_user, sync_to_thread=False),
            "passwords": Provide(lambda: passwords, sync_to_thread=False),
            "live_events": Provide(lambda: live_events, sync_to_thread=False),
        },
    )

    async def recover_on_startup() -> None:
        async with db_config.get_session() as session:
            await recover_interrupted_operations(session, store)

    app = Litestar(
        route_handlers=[api, HealthController, MetricsController, *_web_handlers()],
        on_startup=[
            backend.start,
            recover_on_startup,
            lease_expiry.start,
            live_events.start,
            storyboards.start,
        ],
        on_shutdown=[
            storyboards.stop,
            lease_expiry.stop,
            live_events.stop,
            passwords.close,
            backend.stop,
        ],
        plugins=[SQLAlchemyPlugin(config=db_config), ReelvaultCLIPlugin()],
        state=State({"media_jobs": media_jobs}),
        # After the auth hook, so the request context ends up outermost.
        on_app_init=[jwt_auth.on_app_init, install_request_context],
        dependencies={
            "media": Provide(lambda: store, sync_to_thread=False),
            "backend": Provide(lambda: backend, sync_to_thread=False),
            "storyboards": Provide(lambda: storyboards, sync_to_thread=False),
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "jwt_auth": Provide(lambda: jwt_auth, sync_to_thread=False),
            "delivery": Provide(lambda: delivery, sync_to_thread=False),
        },
        exception_handlers={
            **exception_handlers,
            # A browser that follows a wrong address gets the gallery's "Page not found".
            NotFoundException: not_found_handler(WEB_DIR / "index.html", http_error_handler),
        },
        before_send=[add_security_headers],
        openapi_config=OpenAPIConfig(
            title="reelvault",
            version="1.0.0",
            description="A self-hosted library for generated videos.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        # Media bodies are already compressed, and a gzipped 206 would break byte ranges;
        # a gzipped event stream would sit in the compressor's buffer.
        compression_config=CompressionConfig(
            backend="gzip",
            minimum_size=1024,
            exclude=[
                "^/api/video/",
                "^/api/thumbnail/",
                "^/api/storyboard/[^/]+/sprite",
                "^/api/generations/events",
            ],
        ),
        logging_config=logging_config(settings.log_level, as_json=settings.log_json),
        debug=settings.debug,
    )
    document_errors(app.openapi_schema)
    return app


def _web_handlers() -> list[object]:
    client_route = client_route_handler(WEB_DIR / "index.html")
    static = create_static_files_router(
        path="/",
        directories=[WEB_DIR],
        html_mode=False,  # "/" is a client route above
        include_in_schema=False,
        opt={"exclude_from_auth": True},
    )
    return [client_route, static]

"""Configuration from `REELVAULT_*` environment variables, validated once at start-up."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

ENV_PREFIX = "REELVAULT_"
DeliveryMode = Literal["direct", "accel", "redirect"]
StorageKind = Literal["local", "s3"]
S3Addressing = Literal["auto", "path", "virtual"]
Registration = Literal["open", "closed"]
StoryboardMode = Literal["background", "on-demand"]


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable and the rule."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""
    media_dir: Path | None = None  # default: <data_dir>/media
    secret_key: str = ""
    token_lifetime_seconds: int = 8 * 3600
    max_upload_bytes: int = 2 * 1024**3
    behind_https: bool = False
    media_delivery: DeliveryMode = "direct"
    accel_prefix: str = "/_protected_media/"
    log_level: str = "INFO"
    log_json: bool = False
    debug: bool = False
    # Accounts: who may register, and how much each account may store (None: no quota).
    registration: Registration = "open"
    user_quota_bytes: int | None = None
    password_hash_workers: int = 2
    # Uploads: a body that sends nothing for this long is cut off (408); at most this many
    # uploads of one account stream at once (429).
    upload_idle_seconds: int = 30
    max_uploads_per_user: int = 2
    # Untrusted media: what an ad video never needs is refused before decoding, and the file is
    # parsed in a child process with these limits; at most `media_jobs` such children at once.
    media_max_dimension: int = 4096
    media_max_duration_seconds: int = 900
    media_jobs: int = 2
    media_memory_bytes: int = 1024**3
    media_cpu_seconds: int = 60
    # Workers: how many times a generation may be taken before it fails for good.
    max_attempts: int = 3
    # Live events: a comment on every open stream this often (at most 15 s, the contract's
    # bound); a stream whose client falls this many events behind is ended (it reconnects).
    events_ping_seconds: float = 15.0
    events_queue_size: int = 256
    # Media storage: the media directory (local) or an S3-compatible object store (s3).
    storage: StorageKind = "local"
    s3_endpoint_url: str | None = None  # None: AWS
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_prefix: str = ""
    # auto: path-style for a self-hosted endpoint (MinIO, Garage, Ceph), virtual-host for AWS.
    s3_addressing: S3Addressing = "auto"
    # How long a presigned URL (redirect and accel delivery) stays valid.
    s3_presign_seconds: int = 300
    # An upload's intent older than this belongs to an import that died: its objects go.
    s3_intent_grace_seconds: int = 3600
    # How long the answer "this object exists" is trusted for `file_available`.
    s3_exists_ttl_seconds: int = 60
    s3_part_bytes: int = 16 * 1024**2
    # Seek-preview storyboards: made after each import or completion and by a background pass
    # over the videos without one (background), or only when a player first asks (on-demand).
    storyboards: StoryboardMode = "background"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get(f"{ENV_PREFIX}DATA_DIR", "data"))
        settings = cls(
            data_dir=data_dir,
            database_url=env.get(f"{ENV_PREFIX}DATABASE_URL", ""),
            media_dir=Path(env[f"{ENV_PREFIX}MEDIA_DIR"])
            if env.get(f"{ENV_PREFIX}MEDIA_DIR")
            else None,
            secret_key=env.get(f"{ENV_PREFIX}SECRET_KEY", ""),
            token_lifetime_seconds=_int(env, "TOKEN_LIFETIME_SECONDS", 8 * 3600, minimum=60),
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 2 * 1024**3, minimum=1024),
            behind_https=_bool(env, "BEHIND_HTTPS", default=False),
            media_delivery=_choice(
                env, "MEDIA_DELIVERY", ("direct", "accel", "redirect"), "direct"
            ),  # type: ignore[arg-type]
            accel_prefix=env.get(f"{ENV_PREFIX}ACCEL_PREFIX", "/_protected_media/"),
            log_level=_choice(
                env, "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", upper=True
            ),
            log_json=_bool(env, "LOG_JSON", default=False),
            debug=_bool(env, "DEBUG", default=False),
            registration=_choice(env, "REGISTRATION", ("open", "closed"), "open"),  # type: ignore[arg-type]
            user_quota_bytes=_int(env, "USER_QUOTA_BYTES", 0, minimum=1) or None,
            password_hash_workers=_int(env, "PASSWORD_HASH_WORKERS", 2, minimum=1),
            upload_idle_seconds=_int(env, "UPLOAD_IDLE_SECONDS", 30, minimum=1),
            max_uploads_per_user=_int(env, "MAX_UPLOADS_PER_USER", 2, minimum=1),
            media_max_dimension=_int(env, "MEDIA_MAX_DIMENSION", 4096, minimum=16),
            media_max_duration_seconds=_int(env, "MEDIA_MAX_DURATION_SECONDS", 900, minimum=1),
            media_jobs=_int(env, "MEDIA_JOBS", 2, minimum=1),
            media_memory_bytes=_int(env, "MEDIA_MEMORY_BYTES", 1024**3, minimum=128 * 1024**2),
            media_cpu_seconds=_int(env, "MEDIA_CPU_SECONDS", 60, minimum=1),
            max_attempts=_int(env, "MAX_ATTEMPTS", 3, minimum=1),
            events_ping_seconds=_int(env, "EVENTS_PING_SECONDS", 15, minimum=1),
            events_queue_size=_int(env, "EVENTS_QUEUE_SIZE", 256, minimum=8),
            storage=_choice(env, "STORAGE", ("local", "s3"), "local"),  # type: ignore[arg-type]
            s3_endpoint_url=env.get(f"{ENV_PREFIX}S3_ENDPOINT_URL") or None,
            s3_bucket=env.get(f"{ENV_PREFIX}S3_BUCKET", ""),
            s3_region=env.get(f"{ENV_PREFIX}S3_REGION") or "us-east-1",
            s3_access_key_id=env.get(f"{ENV_PREFIX}S3_ACCESS_KEY_ID") or None,
            s3_secret_access_key=env.get(f"{ENV_PREFIX}S3_SECRET_ACCESS_KEY") or None,
            s3_prefix=env.get(f"{ENV_PREFIX}S3_PREFIX", ""),
            s3_addressing=_choice(env, "S3_ADDRESSING", ("auto", "path", "virtual"), "auto"),  # type: ignore[arg-type]
            s3_presign_seconds=_int(env, "S3_PRESIGN_SECONDS", 300, minimum=10),
            s3_intent_grace_seconds=_int(env, "S3_INTENT_GRACE_SECONDS", 3600, minimum=1),
            s3_exists_ttl_seconds=_int(env, "S3_EXISTS_TTL_SECONDS", 60, minimum=0),
            s3_part_bytes=_int(env, "S3_PART_BYTES", 16 * 1024**2, minimum=5 * 1024**2),
            storyboards=_choice(env, "STORYBOARDS", ("background", "on-demand"), "background"),  # type: ignore[arg-type]
        )
        return settings.resolved()

    def resolved(self) -> Settings:
        """Fill in what derives from the data directory and check the combination."""
        data_dir = Path(self.data_dir).resolve()
        media_dir = Path(self.media_dir).resolve() if self.media_dir else data_dir / "media"
        database_url = self.database_url or _embedded_database_url(data_dir)
        if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError(
                f"{ENV_PREFIX}DATABASE_URL must start with sqlite+aiosqlite:// or "
                "postgresql+asyncpg:// (the service is fully async)"
            )
        if not (self.accel_prefix.startswith("/") and self.accel_prefix.endswith("/")):
            raise SettingsError(f"{ENV_PREFIX}ACCEL_PREFIX must start and end with '/'")
        if not 0 < self.events_ping_seconds <= 15:
            raise SettingsError(f"{ENV_PREFIX}EVENTS_PING_SECONDS must be between 1 and 15")
        if self.storage == "s3" and not self.s3_bucket:
            raise SettingsError(f"{ENV_PREFIX}S3_BUCKET is required with {ENV_PREFIX}STORAGE=s3")
        if self.media_delivery == "redirect" and self.storage != "s3":
            raise SettingsError(
                f"{ENV_PREFIX}MEDIA_DELIVERY=redirect needs {ENV_PREFIX}STORAGE=s3 "
                "(a presigned URL of the object store)"
            )
        if self.s3_prefix and (self.s3_prefix.startswith("/") or ".." in self.s3_prefix.split("/")):
            raise SettingsError(f"{ENV_PREFIX}S3_PREFIX must be a relative key prefix")
        if self.secret_key and len(self.secret_key) < 32:
            raise SettingsError(f"{ENV_PREFIX}SECRET_KEY must be at least 32 characters long")
        return replace(
            self,
            database_url=database_url,
            data_dir=data_dir,
            media_dir=media_dir,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_embedded_database(self) -> bool:
        """The embedded default: the SQLite file in the data directory (no DATABASE_URL)."""
        return self.database_url == _embedded_database_url(self.data_dir)

    @property
    def media_root(self) -> Path:
        assert self.media_dir is not None, "Settings.resolved() fills media_dir in"
        return self.media_dir

    def ensure_directories(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.media_root.mkdir(parents=True, exist_ok=True)

    def signing_key(self) -> str:
        """The configured secret, or one created on first start and kept in the data directory.

        Several workers may start at once: the key file is created exclusively, so they all
        end up reading the same key.
        """
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            draft = key_file.with_name(f".secret_key.{os.getpid()}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            # link() publishes the whole key at once and fails if a sibling won the race.
            with contextlib.suppress(FileExistsError):
                os.link(draft, key_file)
            draft.unlink()
        key = key_file.read_text().strip()
        if len(key) < 32:
            raise SettingsError(f"{key_file} holds no usable key; delete it to make a new one")
        return key


def _embedded_database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{Path(data_dir).resolve() / 'reelvault.db'}"


def _int(env: dict[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(ENV_PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{ENV_PREFIX}{name} must be at least {minimum}, got {value}")
    return value


def _bool(env: dict[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(ENV_PREFIX + name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{ENV_PREFIX}{name} must be true or false, got {raw!r}")


def _choice(
    env: dict[str, str], name: str, choices: tuple[str, ...], default: str, *, upper: bool = False
) -> str:
    raw = env.get(ENV_PREFIX + name)
    if raw is None or raw == "":
        return default
    value = raw.strip().upper() if upper else raw.strip().lower()
    if value not in choices:
        raise SettingsError(f"{ENV_PREFIX}{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value

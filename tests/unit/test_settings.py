from __future__ import annotations

from pathlib import Path

import pytest

from reelvault.settings import Settings, SettingsError


def test_defaults_derive_from_the_data_directory(tmp_path: Path) -> None:
    settings = Settings.from_env({"REELVAULT_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'reelvault.db'}"
    assert settings.media_root == tmp_path.resolve() / "media"
    assert settings.media_delivery == "direct"
    assert settings.behind_https is False


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TOKEN_LIFETIME_SECONDS", "soon", "must be an integer"),
        ("TOKEN_LIFETIME_SECONDS", "5", "at least 60"),
        ("MAX_UPLOAD_BYTES", "-1", "at least 1024"),
        ("BEHIND_HTTPS", "perhaps", "true or false"),
        ("MEDIA_DELIVERY", "ftp", "one of direct, accel"),
        ("DATABASE_URL", "mysql://x", "sqlite+aiosqlite://"),
        ("SECRET_KEY", "short", "at least 32"),
        ("ACCEL_PREFIX", "media", "start and end with '/'"),
        ("LOG_LEVEL", "loud", "one of DEBUG"),
    ],
)
def test_a_bad_value_names_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({f"REELVAULT_{name}": value})
    assert f"REELVAULT_{name}" in str(error.value)
    assert message in str(error.value)


def test_generated_secret_is_random_and_kept(tmp_path: Path) -> None:
    first = Settings.from_env({"REELVAULT_DATA_DIR": str(tmp_path / "a")}).signing_key()
    again = Settings.from_env({"REELVAULT_DATA_DIR": str(tmp_path / "a")}).signing_key()
    other = Settings.from_env({"REELVAULT_DATA_DIR": str(tmp_path / "b")}).signing_key()
    assert first == again
    assert first != other
    assert len(first) >= 32
    assert (tmp_path / "a" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_configured_secret_wins(tmp_path: Path) -> None:
    key = "k" * 40
    settings = Settings.from_env({"REELVAULT_DATA_DIR": str(tmp_path), "REELVAULT_SECRET_KEY": key})
    assert settings.signing_key() == key
    assert not (tmp_path / "secret_key").exists()

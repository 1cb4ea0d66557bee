"""tests/api/test_media_paths.py through Nginx: a tampered stored path is refused by the app
before any X-Accel-Redirect could name it."""

from tests.api.test_media_paths import *  # noqa: F403

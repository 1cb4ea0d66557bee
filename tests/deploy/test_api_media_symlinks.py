"""tests/api/test_media_symlinks.py through Nginx: a linked stored path is refused by the app
before any X-Accel-Redirect could name it (test_nginx_symlinks.py: Nginx refuses it too)."""

from tests.api.test_media_symlinks import *  # noqa: F403

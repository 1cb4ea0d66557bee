"""tests/api/test_auth.py through Nginx: the cookie's same-origin rule needs the Host header
passed on as the browser sent it."""

from tests.api.test_auth import *  # noqa: F403

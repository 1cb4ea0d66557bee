"""tests/api/test_listing.py through Nginx."""

from tests.api.test_listing import *  # noqa: F403

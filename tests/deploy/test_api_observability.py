"""tests/api/test_observability.py through Nginx: request ids pass through it both ways."""

from tests.api.test_observability import *  # noqa: F403

# In accel mode Nginx sends the video bytes, so the app's media byte and first-byte metrics
# stay at zero: this test reads them, and holds for the direct mode only.
del test_metrics_count_requests_by_route_media_bytes_deletions_and_searches  # noqa: F821

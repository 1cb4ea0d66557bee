"""tests/api/test_import.py through Nginx: uploads stream through it to the app."""

from tests.api.test_import import *  # noqa: F403

# These two start their own app with a 100 KB limit and talk to it directly, not through
# Nginx; the limits behind Nginx are test_nginx.py's (413 from Nginx and from the app).
del test_over_the_limit_is_413_while_streaming_and_leaves_nothing  # noqa: F821
del test_a_file_under_the_limit_is_accepted_there  # noqa: F821

"""tests/api/test_delete.py through Nginx."""

from tests.api.test_delete import *  # noqa: F403

# Left out: a child process imports or deletes without HTTP and is killed, then a second app
# starts; nothing of it passes through Nginx (the recovery is the same behind it), and these
# are the slowest tests of the suite. They run against the app in tests/api/.
del test_a_crash_at_any_step_of_a_deletion_is_settled_at_restart  # noqa: F821
del test_a_crash_during_an_import_is_settled_at_restart  # noqa: F821

"""tests/api/test_auth.py through Nginx: the cookie's same-origin rule needs the Host header
passed on as the browser sent it. Also the sessions and the sign-in throttle behind it: the
throttle keys on the address Nginx forwards, which a client cannot forge."""

import uuid

from tests.api.test_auth import *  # noqa: F403
from tests.api.test_sessions import (  # noqa: F401
    second_app,
    test_logout_ends_the_token_at_once_on_every_process,
    test_password_change_ends_the_other_sessions_and_keeps_the_callers,
)
from tests.api.test_sign_in_abuse import (  # noqa: F401
    LIMIT,
    client,
    sign_in,
    test_other_accounts_from_the_same_address_keep_signing_in,
    test_repeated_wrong_passwords_get_429_with_retry_after,
    test_the_same_account_from_another_address_keeps_signing_in,
    test_two_processes_share_the_count,
)
from tests.conftest import Deployment
from tests.support.factories import PASSWORD, Account


async def test_a_forged_forwarded_address_does_not_escape_the_throttle(
    deployment: Deployment, account: Account
) -> None:
    """Each guess claims another X-Forwarded-For; Nginx replaces it with the real address."""
    async with client(deployment.base_url) as c:
        statuses = []
        for attempt in range(LIMIT + 1):
            forged = {"X-Forwarded-For": f"203.0.113.{attempt + 1}"}
            response = await c.post(
                "/api/auth/login",
                json={"email": account.email, "password": f"wrong {uuid.uuid4()}"},
                headers=forged,
            )
            statuses.append(response.status_code)
        assert statuses[-1] == 429, statuses
        assert (await sign_in(c, account.email, PASSWORD)).status_code == 429
    async with client(deployment.base_url, "127.0.0.2") as owner:
        assert (await sign_in(owner, account.email, PASSWORD)).status_code == 200

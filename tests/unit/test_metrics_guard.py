"""`/metrics` is for the operator's scraper: loopback and private networks only."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from litestar.exceptions import PermissionDeniedException

from reelvault.observability import local_network_only


def connection_from(host: str | None) -> Any:
    return SimpleNamespace(client=SimpleNamespace(host=host) if host is not None else None)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "10.1.2.3", "192.168.0.9", "172.16.5.5"])
async def test_local_addresses_may_read_metrics(host: str) -> None:
    await local_network_only(connection_from(host), None)  # type: ignore[arg-type]


@pytest.mark.parametrize("host", ["8.8.8.8", "2001:4860:4860::8888", "testclient", "", None])
async def test_other_addresses_are_refused(host: str | None) -> None:
    with pytest.raises(PermissionDeniedException):
        await local_network_only(connection_from(host), None)  # type: ignore[arg-type]

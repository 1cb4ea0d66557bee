#!/bin/sh
# The image's entry point, also run by CI on the machine itself (tests/deploy/): bring the
# database to the latest migration, then serve the app with several uvicorn workers.
#
# The app reads its own REELVAULT_* settings (README, "Configuration"); these are the server's:
#   REELVAULT_HOST (0.0.0.0), REELVAULT_PORT (8000), REELVAULT_WORKERS (4),
#   FORWARDED_ALLOW_IPS (uvicorn's: the proxies whose X-Forwarded-For/-Proto are believed).
set -eu

export LITESTAR_APP=reelvault.app:create_app

# Before any worker starts, so no request meets an old schema. Run one replica at a time:
# Alembic takes no lock of its own.
litestar database upgrade --no-prompt

# Only the proxy's forwarded client address and scheme are believed (the cookie's same-origin
# rule needs the scheme the browser used; sign-in throttling and /metrics need the address).
# The default believes loopback only: set FORWARDED_ALLOW_IPS to the Nginx container's address
# (or its network, e.g. 172.18.0.0/16) where Nginx runs on another host of the container
# network. A wildcard would let anyone who reaches this port forge their address.
# reelvault.server is uvicorn with a bound on request heads (as Nginx has).
exec python -m reelvault.server \
    --host "${REELVAULT_HOST:-0.0.0.0}" \
    --port "${REELVAULT_PORT:-8000}" \
    --workers "${REELVAULT_WORKERS:-4}" \
    --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
    --timeout-graceful-shutdown 30

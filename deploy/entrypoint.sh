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

# Nginx, the one client of this port, is on another host of the container network: the
# forwarded client address and scheme are believed (the cookie's same-origin rule needs the
# scheme the browser used). Never publish this port; narrow the list where the proxy's
# address is known.
exec uvicorn reelvault.app:create_app --factory \
    --host "${REELVAULT_HOST:-0.0.0.0}" \
    --port "${REELVAULT_PORT:-8000}" \
    --workers "${REELVAULT_WORKERS:-4}" \
    --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}" \
    --no-access-log \
    --timeout-graceful-shutdown 30

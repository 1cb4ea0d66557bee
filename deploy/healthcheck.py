"""The image's HEALTHCHECK (standard library only): exit 0 when `GET /health/ready` answers 200,
that is, when the database answers and the media directory is writable."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('REELVAULT_PORT', '8000')}/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:  # 503: up, but the database or the media is not
        print(f"not ready: {exc.code} {exc.read()[:200]!r}", file=sys.stderr)
    except OSError as exc:  # refused, timed out: not serving yet
        print(f"not ready: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

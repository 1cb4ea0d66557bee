"""Why the s3 backend talks to the store through aiobotocore: the two well-kept async clients,
side by side against one moto_server in the same run.

Measured per client: 64 KiB ranged GETs per second (8 at once, what the app does for a player's
seeks), a whole 8 MiB object streamed (MiB/s), a 32 MiB upload (MiB/s; multipart), and whether
it can presign a GET that carries a signed `response-content-disposition` (what the redirect
and accel modes need for downloads). obstore is not a dependency of reelvault: install it
beside this bench to measure it (`pip install obstore`); without it its row says so.

    .venv/bin/python bench/s3_clients.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, s3_server, s3_settings

from reelvault.settings import Settings
from reelvault.storage.objects import ObjectStore

SMALL = 64 * 1024
WHOLE = 8 * 1024 * 1024
UPLOAD = 32 * 1024 * 1024


async def timed_for(seconds: float, concurrency: int, call) -> float:
    """Calls per second of `call()` with `concurrency` callers for `seconds`."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def measure_aiobotocore(settings: Settings, upload: Path, seconds: float) -> dict[str, str]:
    async with ObjectStore(settings) as store:
        await store.put_file(
            "bench/whole.bin", upload.with_name("whole"), "application/octet-stream"
        )
        ranged = await timed_for(seconds, 8, lambda: store.read("bench/whole.bin", 0, SMALL - 1))
        started = time.perf_counter()
        size = 0
        async for chunk in store.stream("bench/whole.bin", 0, WHOLE - 1):
            size += len(chunk)
        whole = size / 2**20 / (time.perf_counter() - started)
        started = time.perf_counter()
        await store.put_file("bench/upload.bin", upload, "application/octet-stream")
        put = UPLOAD / 2**20 / (time.perf_counter() - started)
        url = await store.presign(
            "bench/whole.bin",
            expires_seconds=60,
            content_disposition='attachment; filename="a.mp4"',
        )
    signed = "response-content-disposition" in url
    return {
        "64 KiB ranged GETs/s (8 at once)": f"{ranged:.0f}",
        "8 MiB streamed, MiB/s": f"{whole:.0f}",
        "32 MiB upload, MiB/s": f"{put:.0f}",
        "presigned GET with Content-Disposition": "yes" if signed else "no",
    }


async def measure_obstore(
    endpoint: str, bucket: str, upload: Path, seconds: float
) -> dict[str, str]:
    try:
        import obstore
        from obstore.store import S3Store
    except ImportError:
        return {"note": "obstore not installed (pip install obstore)"}
    store = S3Store(
        bucket,
        endpoint=endpoint,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        client_options={"allow_http": True},
        virtual_hosted_style_request=False,
    )
    await obstore.put_async(store, "bench/whole.bin", upload.with_name("whole").read_bytes())

    async def ranged_get() -> None:
        await obstore.get_range_async(store, "bench/whole.bin", start=0, end=SMALL)

    ranged = await timed_for(seconds, 8, ranged_get)
    started = time.perf_counter()
    result = await obstore.get_async(store, "bench/whole.bin")
    size = 0
    async for chunk in result.stream(min_chunk_size=256 * 1024):
        size += len(chunk)
    whole = size / 2**20 / (time.perf_counter() - started)
    started = time.perf_counter()
    with upload.open("rb") as handle:
        await obstore.put_async(store, "bench/upload.bin", handle)
    put = UPLOAD / 2**20 / (time.perf_counter() - started)
    # obstore's sign() takes no response-header overrides: a download's Content-Disposition
    # cannot be carried by a presigned URL.
    url = await obstore.sign_async(store, "GET", "bench/whole.bin", timedelta(seconds=60))
    signed = "response-content-disposition" in str(url)
    return {
        "64 KiB ranged GETs/s (8 at once)": f"{ranged:.0f}",
        "8 MiB streamed, MiB/s": f"{whole:.0f}",
        "32 MiB upload, MiB/s": f"{put:.0f}",
        "presigned GET with Content-Disposition": "yes" if signed else "no (no overrides)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, s3_server() as server:
        folder = Path(work)
        (folder / "whole").write_bytes(os.urandom(WHOLE))
        upload = folder / "upload"
        upload.write_bytes(os.urandom(UPLOAD))
        bucket = server.new_bucket()
        settings = s3_settings(Settings(data_dir=folder), server, bucket)
        rows = {
            "aiobotocore (used)": asyncio.run(measure_aiobotocore(settings, upload, args.seconds)),
            "obstore": asyncio.run(
                measure_obstore(server.endpoint_url, bucket, upload, args.seconds)
            ),
        }
    measures = list(rows["aiobotocore (used)"])
    print(f"| client | {' | '.join(measures)} |")
    print(f"|---|{'---|' * len(measures)}")
    for client, found in rows.items():
        cells = [found.get(measure, found.get("note", "")) for measure in measures]
        print(f"| {client} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()

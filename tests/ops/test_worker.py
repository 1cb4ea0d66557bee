"""`reelvault worker` as a real child process against a real app over HTTP, on SQLite and
PostgreSQL: the demo engine end to end, SIGTERM (finish or give back), the owner's delete (410),
and the app going away under a running job (the lease decides).

The worker gets no REELVAULT_* setting but its own: it never touches the database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from reelvault.settings import Settings
from reelvault.worker.demo_engine import COST_PER_SECOND, SIZES, generate
from reelvault.worker.engine import CannotGenerate, Job
from reelvault.worker.font import INK, PAPER, caption
from tests.conftest import BACKENDS, database_url
from tests.support.factories import Account, register_and_login
from tests.support.servers import ROOT, free_port, live_app, run_cli, settings_env


@dataclass
class Site:
    """A deployment of its own (a claim takes the oldest pending job of ANY owner)."""

    backend: str
    settings: Settings
    base_url: str


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp(f"worker-{request.param}")
    with database_url(request.param, workdir) as url:
        settings = Settings(data_dir=workdir, database_url=url).resolved()
        with live_app(settings, migrate=True) as server:
            yield Site(request.param, settings, server.base_url)


@pytest.fixture
async def owner(site: Site) -> AsyncIterator[Account]:
    account = await register_and_login(site.base_url)
    yield account
    await account.client.aclose()


@pytest.fixture
def key(site: Site) -> str:
    name = f"test-{uuid.uuid4().hex[:8]}"
    done = run_cli(site.settings, "reelvault", "worker-key", "create", name)
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
async def empty_queue(site: Site, key: str) -> None:
    """Whatever an earlier test left pending is failed, so each test sees only its own jobs."""
    async with httpx.AsyncClient(
        base_url=site.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as worker:
        while (claim := await worker.post("/api/worker/claim", json={})).status_code == 200:
            job = claim.json()
            await worker.post(
                f"/api/worker/jobs/{job['generation_id']}/fail",
                json={"lease_token": job["lease_token"], "error": "Cleared by the test"},
            )
        assert claim.status_code == 204, claim.text


class WorkerProcess:
    def __init__(self, url: str, key: str, work_dir: Path, log: Path, **options: Any) -> None:
        self.work_dir = work_dir
        self.log = log
        pace = str(options.pop("pace", 0))
        args = [sys.executable, "-m", "reelvault.worker", "--url", url, "--work-dir", str(work_dir)]
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("REELVAULT_")}
        env |= {"REELVAULT_WORKER_KEY": key, "REELVAULT_DEMO_PACE": pace}
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def leftovers(self) -> list[Path]:
        return list(self.work_dir.iterdir()) if self.work_dir.exists() else []

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


@pytest.fixture
def start_worker(
    site: Site, key: str, tmp_path: Path, empty_queue: None
) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(url: str | None = None, **options: Any) -> WorkerProcess:
        worker = WorkerProcess(
            url or site.base_url, key, tmp_path / "work", tmp_path / "worker.log", **options
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()


async def request(owner: Account, prompt: str, duration: int, aspect_ratio: str) -> str:
    response = await owner.client.post(
        "/api/generations",
        json={"prompt": prompt, "duration": duration, "aspect_ratio": aspect_ratio},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def until(
    probe: Callable[[], Awaitable[Any]], seconds: float, what: str, interval: float = 0.2
) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


def item_when(owner: Account, generation_id: str, test: Callable[[dict[str, Any]], bool]):
    async def probe() -> dict[str, Any] | None:
        response = await owner.client.get(f"/api/generations/{generation_id}")
        if response.status_code != 200:
            return None
        item = response.json()
        return item if test(item) else None

    return probe


def completed(item: dict[str, Any]) -> bool:
    assert item["status"] != "failed", item
    return item["status"] == "completed"


def working(at_least: int) -> Callable[[dict[str, Any]], bool]:
    return lambda item: item["status"] == "processing" and (item["progress"] or 0) >= at_least


async def test_demo_engine_makes_each_requested_clip_with_its_size_length_and_prompt(
    owner: Account, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    requested = {
        "9:16": (2, "A red sneaker on wet asphalt at night"),
        "16:9": (1, "Electric SUV on a coastal road at sunrise"),
        "1:1": (3, "Cold brew coffee pour, condensation, summer light"),
    }
    ids = {
        ratio: await request(owner, prompt, seconds, ratio)
        for ratio, (seconds, prompt) in requested.items()
    }
    worker = start_worker(pace=0)
    for ratio, generation_id in ids.items():
        seconds, prompt = requested[ratio]
        item = await until(item_when(owner, generation_id, completed), 120, f"{ratio} done")
        width, height = SIZES[ratio]
        assert (item["width"], item["height"], item["duration"]) == (width, height, seconds)
        assert item["attempts"] == 1 and item["error"] is None and item["progress"] is None
        assert item["cost"] == pytest.approx(round(COST_PER_SECOND * seconds, 2))
        video = await owner.client.get(item["video_url"])
        assert video.status_code == 200
        path = tmp_path / f"{generation_id}.mp4"
        path.write_bytes(video.content)
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert (stream.codec_context.name, stream.width, stream.height) == (
                "h264",
                width,
                height,
            )
            frames = list(container.decode(video=0))
        assert len(frames) == seconds * 24
        # The prompt is written on it: inked and paper pixels inside the caption's box.
        box = caption(prompt, width, height)
        assert box is not None
        luma = frames[len(frames) // 2].planes[0]
        data = bytes(luma)
        inside = [
            data[row * luma.line_size + box.x : row * luma.line_size + box.x + box.width]
            for row in range(box.y, box.y + box.height)
        ]
        bright = sum(sum(1 for v in line if v > (INK - 40)) for line in inside)
        dark = sum(sum(1 for v in line if v < (PAPER + 40)) for line in inside)
        assert bright > 200 and dark > bright  # letters on a black box
    assert worker.process.poll() is None  # still waiting for more
    assert worker.leftovers() == []
    assert "rvk_" not in worker.output()  # the key is never printed


async def test_sigterm_mid_job_gives_the_job_back(
    owner: Account, start_worker: Callable[..., WorkerProcess]
) -> None:
    generation_id = await request(owner, "Perfume bottle in a misty forest", 10, "16:9")
    worker = start_worker(pace=3, grace_seconds=0.5)  # 30 s of work: far more than the grace
    await until(item_when(owner, generation_id, working(5)), 60, "progress")
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert time.monotonic() - started < 15
    item = (await owner.client.get(f"/api/generations/{generation_id}")).json()
    assert (item["status"], item["attempts"], item["progress"]) == ("pending", 1, 0)
    assert item["error"] is None
    assert "giving the job back" in worker.output()
    assert worker.leftovers() == []


async def test_sigterm_within_the_grace_period_lets_the_job_finish(
    owner: Account, start_worker: Callable[..., WorkerProcess]
) -> None:
    generation_id = await request(owner, "Artisan bakery, croissants, steam", 4, "1:1")
    worker = start_worker(pace=1, grace_seconds=120)
    await until(item_when(owner, generation_id, working(10)), 60, "progress")
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=120) == 0
    item = (await owner.client.get(f"/api/generations/{generation_id}")).json()
    assert (item["status"], item["attempts"]) == ("completed", 1)
    assert worker.leftovers() == []


async def test_a_second_signal_gives_the_job_back_at_once(
    owner: Account, start_worker: Callable[..., WorkerProcess]
) -> None:
    generation_id = await request(owner, "Mountain bike downhill POV", 10, "9:16")
    worker = start_worker(pace=3, grace_seconds=600)
    await until(item_when(owner, generation_id, working(5)), 60, "progress")
    worker.signal(signal.SIGINT)
    await asyncio.sleep(1)
    assert worker.process.poll() is None  # finishing within its grace period
    worker.signal(signal.SIGINT)
    assert worker.wait(timeout=30) == 0
    item = (await owner.client.get(f"/api/generations/{generation_id}")).json()
    assert (item["status"], item["attempts"]) == ("pending", 1)


async def test_deleting_a_job_in_progress_stops_the_engine_at_once(
    owner: Account, start_worker: Callable[..., WorkerProcess]
) -> None:
    doomed = await request(owner, "Kids' backpack with glow-in-the-dark stars", 10, "1:1")
    worker = start_worker(pace=3)
    await until(item_when(owner, doomed, working(5)), 60, "progress")
    assert (await owner.client.delete(f"/api/generations/{doomed}")).status_code == 200
    deleted_at = time.monotonic()

    async def stopped() -> bool:
        return "deleted by its owner" in worker.output() and worker.leftovers() == []

    await until(stopped, 20, "the engine to stop")
    assert time.monotonic() - deleted_at < 10
    # ... and the worker goes on with the next job.
    following = await request(owner, "Organic tea ritual, kettle, steam", 1, "9:16")
    await until(item_when(owner, following, completed), 60, "the next job")
    assert worker.process.poll() is None


@contextlib.contextmanager
def app_process(settings: Settings, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The app as an operator runs it, in a child process that a test may kill."""
    env = {**os.environ, **settings_env(settings)}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "reelvault.server", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                    break
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the app did not start"
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_the_app_restarting_under_a_running_job_does_not_lose_it(
    site: Site, owner: Account, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "app.log"
    generation_id = await request(owner, "Sunglasses on a yacht deck", 8, "9:16")
    with app_process(site.settings, port, log) as app:
        worker = start_worker(f"http://127.0.0.1:{port}", pace=1.5, lease_seconds=60)
        await until(item_when(owner, generation_id, working(10)), 60, "progress")
        app.kill()  # no goodbye: connections refused until it is back
        app.wait()
    await asyncio.sleep(3)
    with app_process(site.settings, port, log):
        item = await until(item_when(owner, generation_id, completed), 120, "completion")
    assert item["attempts"] == 1  # the same lease all along: never requeued
    assert "trying again" in worker.output()
    assert worker.leftovers() == []


async def test_an_app_away_for_longer_than_the_lease_means_the_job_is_requeued_and_made_again(
    site: Site, owner: Account, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "app.log"
    generation_id = await request(owner, "Smart home speaker, cozy kitchen", 6, "16:9")
    with app_process(site.settings, port, log) as app:
        worker = start_worker(f"http://127.0.0.1:{port}", pace=2, lease_seconds=5)
        await until(item_when(owner, generation_id, working(10)), 60, "progress")
        app.kill()
        app.wait()
    # The site's own app settles the lease that ran out meanwhile: the job is pending again.
    await until(item_when(owner, generation_id, lambda i: i["status"] == "pending"), 30, "requeue")
    with app_process(site.settings, port, log):
        item = await until(item_when(owner, generation_id, completed), 120, "completion")
    assert item["attempts"] == 2
    assert "lease" in worker.output()
    assert worker.leftovers() == []


def start_beside(
    settings: Settings, port: int, log: Path, **extra_env: str
) -> subprocess.Popen[bytes]:
    """The last line of `make run`: the app with a demo worker beside it."""
    env = {**os.environ, **settings_env(settings), "REELVAULT_DEMO_PACE": "0"}
    env.pop("REELVAULT_DEMO_WORKER", None)
    env |= extra_env
    url = f"http://127.0.0.1:{port}"
    app = [sys.executable, "-m", "reelvault.server", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "reelvault.worker.beside", "--url", url, "--", *app],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def serves(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


async def test_make_run_serves_the_app_with_a_demo_worker_and_ctrl_c_stops_both(
    site: Site, owner: Account, empty_queue: None, tmp_path: Path
) -> None:
    port = free_port()
    beside = start_beside(site.settings, port, tmp_path / "beside.log")
    try:
        generation_id = await request(owner, "Travel agency: Lisbon rooftops", 1, "16:9")
        await until(item_when(owner, generation_id, completed), 120, "the demo worker")
        keys = run_cli(site.settings, "reelvault", "worker-key", "list").stdout
        assert "demo-worker-" in keys
        beside.send_signal(signal.SIGINT)  # what Ctrl-C sends make's process group
        assert beside.wait(timeout=60) == 0
    finally:
        if beside.poll() is None:
            beside.kill()
            beside.wait()
    log = (tmp_path / "beside.log").read_text(errors="replace")
    assert "worker stopped after 1 job(s)" in log and "Application shutdown complete" in log
    assert "rvk_" not in log
    assert not serves(port)
    # The demo worker's key went with it.
    assert "demo-worker-" not in run_cli(site.settings, "reelvault", "worker-key", "list").stdout


async def test_make_run_with_the_demo_worker_off_serves_the_app_alone(
    site: Site, owner: Account, empty_queue: None, tmp_path: Path
) -> None:
    port = free_port()
    beside = start_beside(site.settings, port, tmp_path / "beside.log", REELVAULT_DEMO_WORKER="off")
    try:
        await until(lambda: asyncio.to_thread(serves, port), 60, "the app")
        generation_id = await request(owner, "Banking app onboarding in 3 taps", 1, "9:16")
        await asyncio.sleep(5)
        item = (await owner.client.get(f"/api/generations/{generation_id}")).json()
        assert item["status"] == "pending"
        beside.send_signal(signal.SIGINT)
        assert beside.wait(timeout=60) == 0
    finally:
        if beside.poll() is None:
            beside.kill()
            beside.wait()
    log = (tmp_path / "beside.log").read_text(errors="replace")
    assert "REELVAULT_DEMO_WORKER=off: no demo worker" in log
    assert "demo-worker-" not in run_cli(site.settings, "reelvault", "worker-key", "list").stdout


# Engines of this module, loaded by the worker child as `--engine tests.ops.test_worker:NAME`.
REFUSAL = "This engine refuses prompts about the moon."
ENGINES = "tests.ops.test_worker"


def refusing_engine(job: Job) -> Path:
    job.report(10)
    raise CannotGenerate(REFUSAL)


async def flaky_engine(job: Job) -> Path:
    """Async: fails its first attempt as a GPU might, makes the demo clip on the next ones."""
    job.report(40)
    await asyncio.sleep(1)
    if job.attempt == 1 or "always" in job.prompt:
        raise RuntimeError("GPU fell off the bus at /dev/nvidia0")
    return await asyncio.to_thread(generate, job)


async def test_a_prompt_the_engine_cannot_make_fails_with_the_engines_sentence(
    owner: Account, start_worker: Callable[..., WorkerProcess]
) -> None:
    generation_id = await request(owner, "The moon, close up", 2, "1:1")
    worker = start_worker(engine=f"{ENGINES}:refusing_engine")
    failed = await until(
        item_when(owner, generation_id, lambda i: i["status"] == "failed"), 60, "failure"
    )
    assert (failed["error"], failed["attempts"]) == (REFUSAL, 1)
    assert worker.leftovers() == []


async def test_a_transient_engine_error_is_retried_and_an_async_engine_then_makes_it(
    owner: Account, start_worker: Callable[..., WorkerProcess]
) -> None:
    generation_id = await request(owner, "Sneaker drop teaser", 1, "9:16")
    worker = start_worker(engine=f"{ENGINES}:flaky_engine", pace=0)
    item = await until(item_when(owner, generation_id, completed), 90, "completion")
    assert (item["attempts"], item["width"], item["height"]) == (2, 360, 640)
    assert "RuntimeError" in worker.output()


async def test_a_transient_engine_error_fails_for_good_once_attempts_run_out(
    owner: Account, start_worker: Callable[..., WorkerProcess]
) -> None:
    generation_id = await request(owner, "always broken", 1, "16:9")
    start_worker(engine=f"{ENGINES}:flaky_engine")
    failed = await until(
        item_when(owner, generation_id, lambda i: i["status"] == "failed"), 90, "failure"
    )
    assert failed["attempts"] == 3  # REELVAULT_MAX_ATTEMPTS' default
    assert failed["error"] == "The generator failed (RuntimeError): GPU fell off the bus at <path>"

"""How long until a person sees the gallery: the grid with its thumbnails, cold, in Chromium.

For each source tree (this checkout, and with --before the tree of an older commit, e.g.
`git worktree add --detach /tmp/reelvault-before 99fbea3`), a fresh app in its own uvicorn
process (SQLite, one worker, loopback), served the same way, with one account of 24 imported
videos (9:16, 16:9 and 1:1). Each run is a new browser context (an empty cache, the session
cookie already set, as after signing in), 1440 x 900, that opens /gallery; the runs of the
trees alternate. Measured in the page with the Performance API (milliseconds since the
navigation started): when the listing and `me` were asked for, when the first card showed,
and when every card in the first screen had its thumbnail decoded.

    .venv/bin/python bench/first_load.py --before /tmp/reelvault-before
    .venv/bin/python bench/first_load.py --runs 5                       # this tree only
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.sync_api import Browser, sync_playwright

from reelvault.demo.clips import render_clip
from servers import ROOT, app_env, migration, uvicorn_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
VIEWPORT = {"width": 1440, "height": 900}
PASSWORD = "first-load-password"
SIZES = {"9:16": (360, 640), "16:9": (640, 360), "1:1": (480, 480)}
VIDEOS = 24

# Resolves (polled every frame) once the first screen's cards all show a decoded thumbnail:
# the times of the milestones, from the page's own clock.
READY = """(expected) => {
  const gallery = document.querySelector('gallery-page');
  const cards = gallery ? [...gallery.shadowRoot.querySelectorAll('video-card')] : [];
  const now = performance.now();
  if (cards.length && !window.__firstCard) window.__firstCard = now;
  if (cards.length < expected) return false;
  const inView = cards.filter((card) => card.getBoundingClientRect().top < innerHeight);
  const shown = inView.every((card) => {
    const root = card.shadowRoot;
    const img = root.querySelector('img.picture') ?? root.querySelector('img');
    return img && !img.hidden && img.complete && img.naturalWidth > 0;
  });
  if (!shown) return false;
  const started = (part) => {
    const entry = performance.getEntriesByType('resource').find((e) => e.name.includes(part));
    return entry ? entry.startTime : null;
  };
  const scripts = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.js'));
  return {
    ready: now,
    firstCard: window.__firstCard,
    listing: started('/api/generations?'),
    me: started('/api/auth/me'),
    modulesDone: Math.max(...scripts.map((e) => e.responseEnd)),
    modules: scripts.length,
    thumbnails: inView.length,
  };
}"""


@dataclass
class Result:
    label: str
    runs: list[dict[str, float]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.runs)

    def p90(self, key: str) -> float:
        values = sorted(run[key] for run in self.runs)
        return values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def set_up_library(base_url: str, clips: dict[str, Path]) -> str:
    email = f"first-load-{os.getpid()}@example.com"
    with httpx.Client(base_url=base_url, timeout=120) as client:
        client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        token = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        ratios = list(clips)
        for n in range(VIDEOS):
            clip = clips[ratios[n % len(ratios)]]
            with clip.open("rb") as handle:
                answer = client.post(
                    "/api/generations",
                    data={"prompt": f"First load ad {n + 1}, {ratios[n % len(ratios)]}"},
                    files={"file": (clip.name, handle, "video/mp4")},
                )
            answer.raise_for_status()
        return token.json()["access_token"]


def one_run(browser: Browser, base_url: str, token: str) -> dict[str, float]:
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url)
    try:
        context.add_cookies(
            [{"name": "reelvault_token", "value": token, "url": base_url, "httpOnly": True}]
        )
        page = context.new_page()
        page.goto("/gallery", wait_until="commit")
        handle = page.wait_for_function(READY, arg=20, polling="raf", timeout=30_000)
        return handle.json_value()
    finally:
        context.close()


def table(results: list[Result], runs: int) -> str:
    rows = [
        ("grid with thumbnails, median ms", lambda r: f"{r.median('ready'):.0f}"),
        ("grid with thumbnails, p90 ms", lambda r: f"{r.p90('ready'):.0f}"),
        ("first card shown, median ms", lambda r: f"{r.median('firstCard'):.0f}"),
        ("listing asked for at, median ms", lambda r: f"{r.median('listing'):.0f}"),
        ("me asked for at, median ms", lambda r: f"{r.median('me'):.0f}"),
        ("last module arrived, median ms", lambda r: f"{r.median('modulesDone'):.0f}"),
        ("modules loaded", lambda r: f"{r.median('modules'):.0f}"),
        ("thumbnails in the first screen", lambda r: f"{r.median('thumbnails'):.0f}"),
    ]
    width = max(len(name) for name, _ in rows)
    columns = [max(len(r.label), *(len(get(r)) for _, get in rows)) for r in results]
    lines = [
        "  ".join(
            [" " * width, *(r.label.rjust(w) for r, w in zip(results, columns, strict=True))]
        ),
        "  ".join(["-" * width, *("-" * w for w in columns)]),
    ]
    for name, get in rows:
        cells = (get(r).rjust(w) for r, w in zip(results, columns, strict=True))
        lines.append("  ".join([name.ljust(width), *cells]))
    return "\n".join(lines) + f"\n\n{runs} cold runs per tree, alternating."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="an older source tree to measure beside")
    parser.add_argument("--runs", type=int, default=15, help="cold loads per tree (15)")
    args = parser.parse_args()
    trees = [("before", args.before.resolve())] if args.before else []
    trees.append(("after", ROOT))
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="reelvault-first-load-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        clips = {}
        for seed, (ratio, (width, height)) in enumerate(SIZES.items(), start=1):
            clips[ratio] = workdir / f"clip_{width}x{height}.mp4"
            render_clip(clips[ratio], width=width, height=height, seconds=3, seed=seed)
        apps = []
        for label, tree in trees:
            env = app_env(workdir / label, log_level="WARNING")
            env["PYTHONPATH"] = os.pathsep.join([str(tree / "src"), env.get("PYTHONPATH", "")])
            log(f"{label}: migrating a fresh SQLite database with {tree}")
            with migration(env):
                pass
            app = stack.enter_context(
                uvicorn_server("reelvault.app:create_app", env, workdir / f"{label}.log", None)
            )
            log(f"{label}: importing {VIDEOS} videos")
            apps.append((Result(label), app.base_url, set_up_library(app.base_url, clips)))
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _, base_url, token in apps:
                one_run(browser, base_url, token)  # the server's own first request, not counted
            for n in range(args.runs):
                for result, base_url, token in apps:
                    result.runs.append(one_run(browser, base_url, token))
                log(f"run {n + 1}/{args.runs}")
            browser.close()
    print()
    print(
        f"First load of /gallery in Chromium, {VIEWPORT['width']} px, cold cache, loopback, "
        f"{VIDEOS} videos; {os.cpu_count()} cores, load average {load[0]:.2f} at the start."
    )
    print(table([result for result, _, _ in apps], args.runs))


if __name__ == "__main__":
    main()

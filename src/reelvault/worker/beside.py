"""Run the app with a demo worker beside it, as `make run` does:

    python -m reelvault.worker.beside --url http://127.0.0.1:8000 -- <the app's command...>

Both are child processes in sessions of their own, so a Ctrl-C reaches each exactly once,
from here, in order: the worker first (it may still give its job back through the app), then
the app. The app ending ends the worker too. `REELVAULT_DEMO_WORKER=off` runs the app alone.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

SWITCH = "REELVAULT_DEMO_WORKER"
WORKER_GRACE_SECONDS = 5  # a person pressed Ctrl-C: finish a nearly done clip, not more
STOP_TIMEOUT = 30.0


def worker_wanted(environ: dict[str, str]) -> bool:
    return environ.get(SWITCH, "on").strip().lower() not in ("off", "0", "false", "no")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reelvault.worker.beside")
    parser.add_argument("--url", required=True, help="where the worker finds the app")
    parser.add_argument("app", nargs=argparse.REMAINDER, help="-- then the app's command")
    args = parser.parse_args(argv)
    command = args.app[1:] if args.app[:1] == ["--"] else args.app
    if not command:
        parser.error("give the app's command after --")

    stop_requests: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stop_requests.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    app = subprocess.Popen(command, start_new_session=True)
    worker = None
    if worker_wanted(dict(os.environ)):
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reelvault.worker",
                "demo",
                "--url",
                args.url,
                "--grace-seconds",
                str(WORKER_GRACE_SECONDS),
            ],
            start_new_session=True,
        )
    else:
        print(f"{SWITCH}=off: no demo worker; requested generations stay pending.", flush=True)

    while not stop_requests and app.poll() is None:
        if worker is not None and worker.poll() is not None:
            print(f"The demo worker stopped (exit {worker.returncode}).", flush=True)
            worker = None
        time.sleep(0.2)

    if worker is not None:
        _stop(worker, signal.SIGTERM)
    if app.poll() is None:
        _stop(app, signal.SIGINT)
    return app.returncode if app.returncode is not None else 0


def _stop(child: subprocess.Popen[bytes], signum: int) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signum)
    try:
        child.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


if __name__ == "__main__":
    sys.exit(main())

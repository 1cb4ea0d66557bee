"""`python -m reelvault.worker ...` is `reelvault worker ...`; `python -m reelvault.worker demo
...` is `reelvault demo-worker ...` (what `make run` starts)."""

import sys

from reelvault.worker.cli import demo_worker, worker

if sys.argv[1:2] == ["demo"]:
    demo_worker(args=sys.argv[2:], prog_name="reelvault demo-worker")
else:
    worker(prog_name="reelvault worker")

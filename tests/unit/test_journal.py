"""Operation folders: held ones are invisible to recovery, a dead process's are recovered."""

from __future__ import annotations

import os
import time
from pathlib import Path

from reelvault.storage import journal


def test_a_running_operation_is_not_recovered(tmp_path: Path) -> None:
    with journal.operation(tmp_path, "import") as op:
        op.write_manifest({"action": "import", "generation_id": "x", "files": {}})
        with journal.abandoned(tmp_path) as found:
            assert found == []
    assert list(tmp_path.iterdir()) == []  # finished operations leave nothing


def test_the_operation_of_a_dead_process_is_recovered(tmp_path: Path) -> None:
    pid = os.fork()
    if pid == 0:  # the child starts an operation and dies without cleaning up
        ctx = journal.operation(tmp_path, "delete-x")
        op = ctx.__enter__()
        op.write_manifest({"action": "delete", "generation_id": "x", "files": {}})
        os._exit(0)
    os.waitpid(pid, 0)
    with journal.abandoned(tmp_path) as found:
        assert len(found) == 1
        assert found[0].read_manifest() == {"action": "delete", "generation_id": "x", "files": {}}
        found[0].finish()
    assert list(tmp_path.iterdir()) == []


def test_a_folder_without_lock_is_left_alone_while_young_and_removed_when_old(
    tmp_path: Path,
) -> None:
    young = tmp_path / "import.young"
    old = tmp_path / "import.old"
    young.mkdir()
    old.mkdir()
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    with journal.abandoned(tmp_path) as found:
        assert found == []
    assert young.exists()
    assert not old.exists()

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


def test_a_failed_operation_keeps_its_manifest_and_trash_for_recovery(tmp_path: Path) -> None:
    """An undo that did not happen: deleting the folder would delete the only copy."""
    try:
        with journal.operation(tmp_path, "delete-x") as op:
            op.write_manifest({"action": "delete", "generation_id": "x", "files": {"video": "v"}})
            op.hold("video")
            (op.folder / "video").write_bytes(b"the only copy")
            (op.folder / "scratch").write_bytes(b"work file")
            raise RuntimeError("not a StorageFailure")
    except RuntimeError:
        pass
    (folder,) = tmp_path.iterdir()
    assert (folder / "video").read_bytes() == b"the only copy"
    assert not (folder / "scratch").exists()  # an operation's own work files still go
    with journal.abandoned(tmp_path) as found:  # and recovery can take it at once
        assert [op.read_manifest()["generation_id"] for op in found] == ["x"]


def test_a_failed_operation_that_was_undone_or_had_no_manifest_leaves_nothing(
    tmp_path: Path,
) -> None:
    for manifest in (True, False):
        try:
            with journal.operation(tmp_path, "import") as op:
                if manifest:
                    op.write_manifest({"action": "import", "generation_id": "x", "files": {}})
                    op.settled()
                raise RuntimeError("refused")
        except RuntimeError:
            pass
    assert list(tmp_path.iterdir()) == []

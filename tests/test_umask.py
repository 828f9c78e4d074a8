"""Results folders take the user's umask (colleagues in the group can open them)."""

from __future__ import annotations

import os
import stat

import pytest

from hiddenvictims.core.results import atomic_dir


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o755), (0o027, 0o750), (0o077, 0o700)])
def test_results_folder_mode_follows_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        with atomic_dir(tmp_path / "out") as tmp:
            (tmp / "summary.json").write_text("{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "out" / "summary.json").stat().st_mode) == mode & 0o666
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left

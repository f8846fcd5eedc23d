"""Waiting for the background archivers a run started: by their exit, as their pid files name them."""

from __future__ import annotations

import os
import select
from pathlib import Path


def wait_all(archive_dir: Path, timeout: float = 120.0) -> int:
    """Wait until every archiver of ``archive_dir`` has exited; how many were waited for."""
    waited = 0
    for pid_file in sorted((archive_dir / "pending").glob("*.pid")):
        try:
            pid = int(pid_file.stem)
            handle = os.pidfd_open(pid)  # a process that is not our child: its exit makes the fd readable
        except (ValueError, ProcessLookupError):
            continue  # gone already
        try:
            ready, _, _ = select.select([handle], [], [], timeout)
            if not ready:
                raise TimeoutError(f"archiver {pid} still running after {timeout} s")
            waited += 1
        finally:
            os.close(handle)
    return waited

"""The one way tests read ../shared (third-party fixtures and benchmarks); skips when absent."""

import json
import os
from pathlib import Path

import pytest

# Beside the checkout; STOREDESK_SHARED_DIR points elsewhere (a git worktree one level deeper).
SHARED_DIR = Path(
    os.environ.get("STOREDESK_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared"
)


def shared_path(relative: str) -> Path:
    path = SHARED_DIR / relative
    if not path.exists():
        pytest.skip(f"shared data not available: {relative}")
    return path


def shared_json(relative: str):
    return json.loads(shared_path(relative).read_text())

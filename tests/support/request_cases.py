"""The request case format (tests/requests_corpus/*.txt), read by one loader:
scripts/score_requests.py's, which also scores the unseen batches."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).parent.parent.parent


def load_script(name: str) -> ModuleType:
    """scripts/<name>.py as a module: scripts/ is not a package, a scorer is a
    command first, loaded here by path."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


SCORER = load_script("score_requests")

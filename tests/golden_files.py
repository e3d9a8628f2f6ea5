"""Golden-file comparison shared by the render and runtime tests.

Set SPARKCTL_UPDATE_GOLDEN=1 to rewrite the golden directory from what was rendered (review the
diff by eye before committing it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path


def assert_matches_golden(rendered: dict[str, str], golden_dir: Path,
                          read: Callable[[Path], dict[str, str]], label: str) -> None:
    """`rendered` maps relative paths to text; `read` reads a tree the same way."""
    if os.environ.get("SPARKCTL_UPDATE_GOLDEN"):
        shutil.rmtree(golden_dir, ignore_errors=True)
        for rel, text in rendered.items():
            (golden_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden_dir / rel).write_text(text, encoding="utf-8")
    golden = read(golden_dir) if golden_dir.exists() else {}
    assert sorted(rendered) == sorted(golden), f"files differ from {golden_dir}"
    for rel in rendered:
        assert rendered[rel] == golden[rel], f"{label}/{rel} differs from its golden file"

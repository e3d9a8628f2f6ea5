"""Shared paths for the checks tests: the real fixture files copied from ../shared/fixtures."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def fixture_files() -> list[Path]:
    """Every copied tool output (SOURCES.md describes them and is not one)."""
    return sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.name != "SOURCES.md")


def fixture_id(path: Path) -> str:
    return str(path.relative_to(FIXTURES))


def read(relative: str) -> str:
    return (FIXTURES / relative).read_text(encoding="utf-8")

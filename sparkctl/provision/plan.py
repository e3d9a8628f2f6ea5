"""What a run will do before it starts: tags and --limit checked, tasks per host counted.

Counting the tasks of site.yml and the roles' tasks/main.yml (includes count as one) gives
the progress bars a total without paying for `ansible-playbook --list-tasks` (~1.5 s).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import yaml

from sparkctl.errors import InputError
from sparkctl.render.bundle import ROLES

ALWAYS = "always"


@dataclass(frozen=True)
class PlaybookOutline:
    pre_tasks: int
    role_tasks: dict[str, int]  # role -> tasks in its tasks/main.yml
    role_tags: dict[str, tuple[str, ...]]

    def tasks_for(self, tags: tuple[str, ...], skip_tags: tuple[str, ...] = ()) -> int:
        total = self.pre_tasks
        for role, count in self.role_tasks.items():
            role_tags = set(self.role_tags.get(role, ()))
            if skip_tags and role_tags & set(skip_tags) and ALWAYS not in skip_tags:
                continue
            if not tags or role_tags & (set(tags) | {ALWAYS}):
                total += count
        return total


def outline(bundle_root: Path) -> PlaybookOutline:
    plays = yaml.safe_load((bundle_root / "site.yml").read_text(encoding="utf-8"))
    pre_tasks = sum(len(play.get("pre_tasks") or []) for play in plays)
    role_tasks: dict[str, int] = {}
    role_tags: dict[str, tuple[str, ...]] = {}
    for play in plays:
        for entry in play.get("roles") or []:
            name = entry["role"] if isinstance(entry, dict) else entry
            tags = entry.get("tags", []) if isinstance(entry, dict) else []
            main = bundle_root / "roles" / name / "tasks" / "main.yml"
            role_tasks[name] = len(yaml.safe_load(main.read_text(encoding="utf-8")) or [])
            role_tags[name] = tuple([tags] if isinstance(tags, str) else tags)
    return PlaybookOutline(pre_tasks, role_tasks, role_tags)


def known_tags() -> tuple[str, ...]:
    return (*ROLES, ALWAYS)


def check_tags(tags: tuple[str, ...], option: str = "--tags") -> None:
    unknown = [t for t in tags if t not in known_tags()]
    if unknown:
        raise InputError(f"{option}: unknown tag{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(unknown)}",
                         hint=f"tags are the role names: {', '.join(ROLES)}")


def split_csv(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def limited_hosts(limit: str | None, hosts: tuple[str, ...]) -> tuple[str, ...]:
    """The hosts a --limit selects (names or shell-style patterns), or an InputError."""
    if not limit:
        return hosts
    selected: list[str] = []
    for pattern in split_csv(limit):
        exclude = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        matches = [h for h in hosts if fnmatch.fnmatchcase(h, pattern)]
        if not matches:
            raise InputError(f"--limit {pattern!r} matches no node of this cluster",
                             hint=f"nodes: {', '.join(hosts)}")
        if exclude:
            selected = [h for h in (selected or list(hosts)) if h not in matches]
        else:
            selected += [h for h in matches if h not in selected]
    if not selected:
        raise InputError(f"--limit {limit!r} leaves no node to provision")
    return tuple(h for h in hosts if h in selected)

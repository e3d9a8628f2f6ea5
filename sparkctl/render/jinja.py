"""The jinja2 environment sparkctl renders with: a missing variable is an error, not ''.

The same environment renders the roles' own templates for previews and golden tests, so it
mirrors the settings of Ansible's template module (trim_blocks, trailing newline kept).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from sparkctl.errors import InputError
from sparkctl.quoting import shell


def _to_json(value: Any, *args: Any, **kwargs: Any) -> str:
    # Ansible's to_json is json.dumps (with its own encoder for vault and date types).
    return json.dumps(value, *args, **kwargs)


def _quote(value: Any) -> str:
    # Ansible's quote is shlex.quote(to_text(value)).
    return shell(str(value))


# The quoting filters the role templates use, with Ansible's semantics, so previews render
# byte for byte what Ansible writes (tests/unit/render/test_preview_matches_ansible.py).
ANSIBLE_FILTERS = {"quote": _quote, "to_json": _to_json}


def strict_environment(*search_paths: str | Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search_paths]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=False,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(ANSIBLE_FILTERS)
    return env


def render_file(path: Path, context: dict[str, Any]) -> str:
    """Render one template file; an undefined variable names the template and variable."""
    env = strict_environment(path.parent)
    try:
        return env.get_template(path.name).render(**context)
    except jinja2.UndefinedError as exc:
        raise InputError(f"template {path} needs a variable the inventory lacks: {exc.message}",
                         hint="regenerate the inventory with `sparkctl inventory`, or add the "
                         "variable to the inventory's sparks vars") from None
    except jinja2.TemplateError as exc:
        raise InputError(f"template {path} cannot be rendered: {exc}") from None

"""The jinja2 environment sparkctl renders with: a missing variable is an error, not ''.

The same environment renders the roles' own templates for previews and golden tests, so it
mirrors the settings of Ansible's template module (trim_blocks, trailing newline kept).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from sparkctl.errors import InputError


def strict_environment(*search_paths: str | Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search_paths]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=False,
        keep_trailing_newline=True,
        autoescape=False,
    )


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

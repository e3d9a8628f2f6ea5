"""One thing discovery found: where (node:port), what is wrong, and the concrete fix."""

from __future__ import annotations

from dataclasses import dataclass

DRIFT = "drift"  # the cabling or link state differs from the declaration: exit 1
NOTE = "note"  # worth knowing, not drift (e.g. MTU not set yet on an unprovisioned node)
ERROR = "error"  # discovery itself could not look (unreachable node, no root): exit 2


@dataclass(frozen=True)
class Finding:
    code: str  # stable identifier, e.g. "swapped-cables", "one-twin"
    severity: str  # DRIFT, NOTE or ERROR
    subject: str  # "spark-2:p0", "spark-2:p0,spark-2:p1", "spark-1"
    message: str
    fix: str | None = None

    def to_json(self) -> dict:
        return {"code": self.code, "severity": self.severity, "subject": self.subject,
                "message": self.message, "fix": self.fix}

    def __str__(self) -> str:
        text = f"{self.subject}: {self.message}"
        return text + (f" (fix: {self.fix})" if self.fix else "")

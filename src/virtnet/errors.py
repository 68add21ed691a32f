"""One error hierarchy for the whole package. Every layer may raise these; ``cli`` maps them to exit codes.

Messages are one sentence that names what is wrong and, where it helps, what to do instead.
"""

from __future__ import annotations

from dataclasses import dataclass


class VirtnetError(Exception):
    """Base class of every error virtnet raises on purpose."""


class UnsupportedVersionError(VirtnetError):
    """A KubeVirt or SpiderPool version that virtnet cannot reason about."""


@dataclass(frozen=True)
class Location:
    """Where in the user's input something was found. Every part is optional."""

    file: str | None = None
    document: int | None = None  # 0-based index of the YAML document in a multi-document stream
    path: str | None = None  # field path, e.g. ``spec.nics[1].subnet`` or ``--nic #2 subnet``
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    def render(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            parts.append(where)
        if self.document is not None:
            parts.append(f"document {self.document + 1}")
        if self.path:
            # flags and arguments (--nic #2, NAME) read as themselves; document paths are fields
            is_flag = self.path.startswith("-") or self.path.isupper()
            parts.append(self.path if is_flag else f"field {self.path}")
        return ", ".join(parts)


class InputError(VirtnetError):
    """Bad input from the user: a flag, a file, a document, a field. Exit code 2."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.message = message
        self.location = location or Location()
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.location.render()
        return f"{where}: {self.message}" if where else self.message

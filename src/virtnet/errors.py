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


class ClusterError(VirtnetError):
    """The cluster refused, failed or could not be reached. Exit code 1.

    ``message`` says what happened to which object; ``hint`` says what to do next.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class UnreachableError(ClusterError):
    """No answer from the API server (connection refused, DNS, TLS, timeout)."""


class UnauthorizedError(ClusterError):
    """401: the credentials of the kubeconfig were not accepted."""


class ForbiddenError(ClusterError):
    """403: RBAC refused one verb on one resource."""

    def __init__(self, message: str, hint: str | None = None, *, verb: str = "", resource: str = "") -> None:
        self.verb = verb
        self.resource = resource  # plural.group, e.g. virtualmachines.kubevirt.io
        super().__init__(message, hint)

    @property
    def needs(self) -> str:
        """``get on secrets`` — what RBAC would have to allow."""
        return f"{self.verb} on {self.resource}" if self.verb else "more permissions"


class NotInstalledError(ClusterError):
    """The API server does not serve the kind at all (its CRD is not installed)."""


class NotFoundError(ClusterError):
    """The object does not exist."""


class ConflictError(ClusterError):
    """409: another field manager owns fields virtnet would set, or the object changed since it was read."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        managers: tuple[str, ...] = (),
        fields: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.managers = managers
        self.fields = fields  # (manager, field path) pairs of a server-side apply conflict, e.g. (kubectl, .spec.x)
        super().__init__(message, hint)


class RejectedError(ClusterError):
    """400/422: the API server refused the object (schema, validation, admission)."""


class ServerError(ClusterError):
    """5xx or an answer that is not Kubernetes JSON."""

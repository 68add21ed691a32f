"""VN040 duplicate-object: the same apiVersion/kind/namespace/name more than once in the input (issue 9).

The rule needs every object at once, so it is not dispatched per kind: the engine collects where each object is
(:class:`Place`, also for VMs linted streaming) and calls :func:`duplicate_violations`. ``kubectl apply`` applies
every copy and the later one silently wins."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from virtnet.lint.context import LintContext
from virtnet.lint.model import LintObject, ObjectRef, Severity, Violation
from virtnet.lint.registry import rule

NAME_PATH = ("metadata", "name")


@dataclass(frozen=True)
class Place:
    """Where one object of the input is: its ref, file and the position of metadata.name, its annotations."""

    ref: ObjectRef
    file: str | None
    line: int | None
    column: int | None
    annotations: Mapping[str, object]  # read only for suppressions

    @classmethod
    def of(cls, obj: LintObject) -> Place:
        pos = obj.position(NAME_PATH) or obj.position(())
        file = obj.document.source if obj.document is not None else None
        return cls(obj.ref, file, pos[0] if pos else None, pos[1] if pos else None, obj.annotations)

    def __str__(self) -> str:
        if self.file is None:
            return "the cluster"
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@rule(
    code="VN040",
    slug="duplicate-object",
    severity=Severity.ERROR,
    summary="the same apiVersion/kind/namespace/name more than once in the input",
    why="`kubectl apply -f` applies every copy in turn and the last one wins silently, so what runs depends on file "
    "order, and the copies that lose were checked for nothing.",
    fix="Keep one copy of the object (delete the others, or give them their own names).",
    references=("kubectl apply: an object is identified by apiVersion group, kind, namespace and name",),
    kinds=(),
)  # fmt: skip
def duplicate_object(obj: LintObject, ctx: LintContext) -> Iterator[Violation]:
    return iter(())  # never dispatched per kind: see duplicate_violations


def duplicate_violations(places: Iterable[Place]) -> Iterator[tuple[Place, Violation]]:
    """One violation on every copy of an object the input holds more than once, naming the other copies."""
    groups: dict[ObjectRef, list[Place]] = defaultdict(list)
    for place in places:
        if place.ref.name != "<unnamed>":
            groups[place.ref].append(place)
    for ref, copies in groups.items():
        if len(copies) < 2:
            continue
        for i, place in enumerate(copies):
            others = ", ".join(str(p) for j, p in enumerate(copies) if j != i)
            yield (
                place,
                Violation(
                    f"{ref.api_version} {ref} is defined {len(copies)} times in the input: here and at {others}",
                    NAME_PATH,
                ),
            )

"""What every cluster verb shares: kubectl's connection flags, and opening the one client."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from virtnet.cluster.connection import Connection

if TYPE_CHECKING:
    from virtnet.cluster.client import Cluster

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Target:
    """Where a verb looks: the connection, and which namespaces (``all_namespaces`` = kubectl's ``-A``)."""

    connection: Connection
    all_namespaces: bool = False

    def connect(self) -> Cluster:
        from virtnet.cluster.client import Cluster  # only verbs that talk to a cluster pay for the HTTP stack

        return Cluster.connect(self.connection)


def connection_options(*, all_namespaces: bool = True, namespace_help: str | None = None) -> Callable[[F], F]:
    """--kubeconfig, --context, -n/--namespace, [-A/--all-namespaces], --request-timeout; passes ``target``.

    ``namespace_help`` replaces the help of -n for a verb where it means a little more (``lint``: also the
    namespace of file objects that name none)."""

    def decorate(func: F) -> F:
        options = [
            click.option(
                "--kubeconfig",
                metavar="FILE",
                help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the pod's service account).",
            ),
            click.option("--context", "kube_context", metavar="NAME", help="Kubeconfig context (default: current)."),
            click.option(
                "-n",
                "--namespace",
                metavar="NS",
                help=namespace_help or "Namespace (default: the context's namespace, else default).",
            ),
            click.option(
                "--request-timeout",
                type=click.FloatRange(min=0.1),
                default=30.0,
                show_default=True,
                metavar="SECONDS",
                help="Give up on one API request after this long.",
            ),
        ]
        if all_namespaces:
            options.append(click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace."))

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            target = Target(
                Connection(
                    kubeconfig=kwargs.pop("kubeconfig"),
                    context=kwargs.pop("kube_context"),
                    namespace=kwargs.pop("namespace"),
                    request_timeout=kwargs.pop("request_timeout"),
                ),
                all_namespaces=bool(kwargs.pop("all_namespaces", False)),
            )
            return func(*args, target=target, **kwargs)

        decorated: Any = functools.wraps(func)(wrapper)
        for option in reversed(options):
            decorated = option(decorated)
        return decorated  # type: ignore[no-any-return]

    return decorate

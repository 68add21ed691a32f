"""The one Kubernetes client of virtnet: connection like kubectl, REST calls on plain dicts, one error mapping.

Only this module imports lightkube and httpx2 (enforced by import-linter). lightkube does what it does well —
kubeconfig parsing, contexts, in-cluster service-account config, exec/token/client-certificate auth, TLS — and
hands us an authenticated ``httpx2.Client``. The calls themselves are a few plain REST requests on manifests as
dicts, because virtnet applies arbitrary manifests (CRDs of three projects in several versions) and needs the
knobs lightkube's typed client does not expose: ``fieldValidation``, ``dryRun``, ``force``, the ``Warning``
headers and the Status ``details`` of a refusal (see docs/architecture.md).

Every HTTP or API failure leaves this module as a :class:`virtnet.errors.ClusterError` subclass whose message
names the object and the next step; no lightkube or httpx2 exception escapes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import yaml
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError

from virtnet.cluster.connection import Connection
from virtnet.errors import (
    ClusterError,
    ConflictError,
    ForbiddenError,
    InputError,
    Location,
    NotFoundError,
    NotInstalledError,
    RejectedError,
    ServerError,
    UnauthorizedError,
    UnreachableError,
)

FIELD_MANAGER = "virtnet"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_KUBECONFIG = "~/.kube/config"
LIST_PAGE = 500  # objects per list request (limit/continue), as kubectl's default chunk size

Obj = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    """What discovery says of a kind: its plural and whether it is namespaced."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def qualified(self) -> str:
        """``virtualmachines.kubevirt.io`` (``secrets`` for the core group), as RBAC and kubectl name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None, name: str | None = None) -> str:
        group, _, version = self.api_version.rpartition("/")
        parts = ["/apis", group, version] if group else ["/api", version]
        if self.namespaced and namespace is not None:
            parts += ["namespaces", namespace]
        parts.append(self.plural)
        if name is not None:
            parts.append(name)
        return "/".join(parts)


@dataclass(frozen=True)
class Applied:
    """What the server answered to a server-side apply."""

    object: Obj
    warnings: tuple[str, ...] = ()


@dataclass
class Listing:
    """Every object of one kind (all pages), or why they could not be read."""

    resource: Resource | None
    items: list[Obj] = field(default_factory=list)
    error: ClusterError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def describe(api_version: str, kind: str, namespace: str | None, name: str | None) -> str:
    """``VirtualMachine default/vm1`` — how messages name an object."""
    if name is None:
        return f"{kind} objects" + (f" in namespace {namespace}" if namespace else "")
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


class Cluster:
    """A connection to one API server. Create with :meth:`connect`; use as a context manager or ``close()``."""

    def __init__(self, config: SingleConfig, namespace: str, context: str | None, timeout: float) -> None:
        self.server = config.cluster.server
        self.context = context
        self.namespace = namespace
        self._config = config
        params = client_adapter.ConnectionParams(timeout=httpx2.Timeout(timeout), trust_env=False)
        try:
            self._http = client_adapter.Client(config, params)
        except (ConfigError, OSError, ValueError) as err:
            raise InputError(f"cannot use the kubeconfig's credentials: {err}") from None
        self._resources: dict[tuple[str, str], Resource] = {}
        self._served: dict[str, dict[str, Resource] | None] = {}

    # --- connection ----------------------------------------------------------------------------------------------

    @classmethod
    def connect(cls, conn: Connection) -> Cluster:
        """Connect like kubectl: --kubeconfig, $KUBECONFIG (first file that exists), ~/.kube/config, in-cluster."""
        config, source = _load_config(conn.kubeconfig)
        context = conn.context or config.current_context
        if conn.context and conn.context not in config.contexts:
            known = ", ".join(sorted(config.contexts)) or "none"
            raise InputError(
                f"no context '{conn.context}' in the kubeconfig (contexts: {known})", Location(file=source)
            )
        try:
            single = config.get(context_name=context) if conn.context else config.get()
        except ConfigError as err:
            raise InputError(f"{err}", Location(file=source, path="--context" if conn.context else None)) from None
        if single is None:
            raise InputError("the kubeconfig has no current-context; pass --context NAME", Location(file=source))
        namespace = conn.namespace or single.context.namespace or "default"
        return cls(single, namespace, context, conn.request_timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- discovery -----------------------------------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource:
        """Discovery of one kind; :class:`NotInstalledError` when the server does not serve it."""
        key = (api_version, kind)
        found = self._resources.get(key)
        if found is not None:
            return found
        served = self._group_version(api_version, kind)
        if served is None or kind not in served:
            raise NotInstalledError(
                f"{kind} ({api_version}) is not installed in the cluster at {self.server}",
                _install_hint(api_version),
            )
        self._resources[key] = served[kind]
        return served[kind]

    def serves(self, api_version: str, kind: str) -> bool:
        try:
            self.resource(api_version, kind)
        except NotInstalledError:
            return False
        return True

    def _group_version(self, api_version: str, kind: str) -> dict[str, Resource] | None:
        if api_version in self._served:
            return self._served[api_version]
        path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        what = f"the API group {api_version}"
        resp = self._send("GET", path, what=what, verb="get", allow={404})
        if resp.status_code == 404:
            self._served[api_version] = None
            return None
        kinds: dict[str, Resource] = {}
        for r in _json(resp, what).get("resources", []):
            if isinstance(r, Mapping) and "/" not in str(r.get("name", "")):
                kinds[str(r["kind"])] = Resource(api_version, str(r["kind"]), str(r["name"]), bool(r["namespaced"]))
        self._served[api_version] = kinds
        return kinds

    def server_version(self) -> str:
        resp = self._send("GET", "/version", what="the server version", verb="get")
        return str(_json(resp, "the server version").get("gitVersion", "unknown"))

    # --- reads ---------------------------------------------------------------------------------------------------

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        """The object, or None when it does not exist. Raises when the kind is not served or reading is refused."""
        res = self.resource(api_version, kind)
        ns = (namespace or self.namespace) if res.namespaced else None
        what = describe(api_version, kind, ns, name)
        resp = self._send("GET", res.path(ns, name), what=what, verb="get", resource=res, namespace=ns, allow={404})
        if resp.status_code == 404:
            return None
        return _json(resp, what)

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        all_namespaces: bool = False,
        label_selector: str | None = None,
    ) -> list[Obj]:
        """Every object of a kind, page by page (``limit``/``continue``); each item gets apiVersion and kind."""
        res = self.resource(api_version, kind)
        ns = None if (all_namespaces or not res.namespaced) else (namespace or self.namespace)
        what = describe(api_version, kind, ns, None)
        params: dict[str, str] = {"limit": str(LIST_PAGE)}
        if label_selector:
            params["labelSelector"] = label_selector
        items: list[Obj] = []
        while True:
            resp = self._send("GET", res.path(ns), what=what, verb="list", resource=res, namespace=ns, params=params)
            page = _json(resp, what)
            for item in page.get("items") or []:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                items.append(item)
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items
            params["continue"] = str(token)

    def listing(
        self, api_version: str, kind: str, namespace: str | None = None, *, all_namespaces: bool = False
    ) -> Listing:
        """:meth:`list`, but a refusal or a missing CRD is recorded in the result instead of raised."""
        try:
            res = self.resource(api_version, kind)
            return Listing(res, self.list(api_version, kind, namespace, all_namespaces=all_namespaces))
        except (ForbiddenError, NotInstalledError) as err:
            return Listing(None, error=err)

    # --- writes --------------------------------------------------------------------------------------------------

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
    ) -> Applied:
        """Server-side apply with ``fieldValidation=Strict``; the object's namespace defaults to the client's."""
        res, ns, name = self._locate(obj)
        what = describe(res.api_version, res.kind, ns, name)
        params = _write_params(field_manager, dry_run, force=force)
        body = dict(obj)
        if ns is not None:
            body["metadata"] = {**dict(obj.get("metadata") or {}), "namespace": ns}
        # JSON is YAML: a valid apply-patch+yaml body
        resp = self._patch(res, ns, name, what, params, json.dumps(body), "application/apply-patch+yaml")
        return Applied(_json(resp, what), _warnings(resp))

    def replace(self, obj: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER, dry_run: bool = False) -> Obj:
        """PUT the object; its ``metadata.resourceVersion`` makes this optimistic (409 when it changed)."""
        res, ns, name = self._locate(obj)
        what = describe(res.api_version, res.kind, ns, name)
        params = _write_params(field_manager, dry_run)
        resp = self._send(
            "PUT", res.path(ns, name), what=what, verb="update", resource=res, namespace=ns, params=params, json=obj
        )
        return _json(resp, what)

    def json_patch(
        self,
        obj: Mapping[str, Any],
        operations: Sequence[Mapping[str, Any]],
        *,
        field_manager: str = FIELD_MANAGER,
        dry_run: bool = False,
    ) -> Obj:
        """PATCH the object with an RFC 6902 JSON patch (``test`` operations make it conditional: 422 otherwise)."""
        res, ns, name = self._locate(obj)
        what = describe(res.api_version, res.kind, ns, name)
        params = _write_params(field_manager, dry_run)
        body = json.dumps([dict(o) for o in operations])
        return _json(self._patch(res, ns, name, what, params, body, "application/json-patch+json"), what)

    def _patch(
        self, res: Resource, ns: str | None, name: str, what: str, params: dict[str, str], body: str, content_type: str
    ) -> httpx2.Response:
        """PATCH one object with a body of ``content_type`` (server-side apply, JSON patch)."""
        return self._send(
            "PATCH",
            res.path(ns, name),
            what=what,
            verb="patch",
            resource=res,
            namespace=ns,
            params=params,
            content=body.encode(),
            headers={"Content-Type": content_type},
        )

    def _locate(self, obj: Mapping[str, Any]) -> tuple[Resource, str | None, str]:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        if not isinstance(api_version, str) or not isinstance(kind, str) or not isinstance(name, str) or not name:
            raise InputError("an object to send needs apiVersion, kind and metadata.name")
        res = self.resource(api_version, kind)
        ns = (meta.get("namespace") or self.namespace) if res.namespaced and isinstance(meta, Mapping) else None
        return res, ns, name

    # --- the one error mapping -----------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        verb: str,
        resource: Resource | None = None,
        namespace: str | None = None,
        allow: set[int] | frozenset[int] = frozenset(),
        **kwargs: Any,
    ) -> httpx2.Response:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx2.TimeoutException:
            raise UnreachableError(
                f"the API server at {self.server} did not answer in time while reading or writing {what}",
                "check that the cluster is up and reachable from here (kubectl cluster-info), or raise "
                "--request-timeout",
            ) from None
        except (httpx2.HTTPError, OSError, ConfigError) as err:
            raise UnreachableError(
                f"cannot reach the API server at {self.server} ({_reason(err)})",
                "check that the cluster is up, that this kubeconfig/context points at it "
                f"(context: {self.context or 'current'}), and that it is reachable from here",
            ) from None
        if resp.status_code < 400 or resp.status_code in allow:
            return resp
        raise _status_error(resp, what=what, verb=verb, resource=resource, namespace=namespace, server=self.server)


def _write_params(field_manager: str, dry_run: bool, *, force: bool = False) -> dict[str, str]:
    """Query parameters of every write: field manager, Strict field validation, optional force and dry run."""
    params = {"fieldManager": field_manager, "fieldValidation": "Strict"}
    if force:
        params["force"] = "true"
    if dry_run:
        params["dryRun"] = "All"
    return params


# --- helpers -----------------------------------------------------------------------------------------------------


def _load_config(explicit: str | None) -> tuple[KubeConfig, str]:
    """kubectl's order: --kubeconfig, $KUBECONFIG (merged: first file that has each entry wins), default, in-cluster."""
    if explicit:
        return _read_kubeconfig([explicit], "--kubeconfig"), explicit
    env = os.environ.get("KUBECONFIG")
    if env:
        files = [p for p in env.split(os.pathsep) if p]
        existing = [p for p in files if Path(p).expanduser().is_file()]
        if not existing:
            raise InputError(f"no file of KUBECONFIG={env} exists", Location(path="KUBECONFIG"))
        return _read_kubeconfig(existing, "KUBECONFIG"), existing[0]
    default = Path(DEFAULT_KUBECONFIG).expanduser()
    if default.is_file():
        return _read_kubeconfig([str(default)], "~/.kube/config"), str(default)
    if Path(SERVICE_ACCOUNT_DIR, "token").is_file() and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            return KubeConfig.from_service_account(SERVICE_ACCOUNT_DIR), "in-cluster service account"
        except ConfigError as err:
            raise InputError(f"in-cluster service-account config: {err}") from None
    raise InputError(
        "no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or run in a pod "
        "with a service account"
    )


def _read_kubeconfig(files: list[str], flag: str) -> KubeConfig:
    merged: dict[str, Any] = {"clusters": [], "users": [], "contexts": []}
    seen: dict[str, set[str]] = {"clusters": set(), "users": set(), "contexts": set()}
    for file in files:
        path = Path(file).expanduser()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("kubeconfig file does not exist", Location(file=file, path=flag)) from None
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
            raise InputError(f"cannot read the kubeconfig: {reason}", Location(file=file, path=flag)) from None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise InputError("the kubeconfig is not valid YAML", Location(file=file, line=line)) from None
        if not isinstance(data, Mapping):
            raise InputError("the kubeconfig is not a mapping (apiVersion: v1, kind: Config)", Location(file=file))
        for section in ("clusters", "users", "contexts"):
            for entry in data.get(section) or []:
                if isinstance(entry, Mapping) and entry.get("name") not in seen[section]:
                    seen[section].add(str(entry.get("name")))
                    merged[section].append(_absolute_paths(dict(entry), path.parent))
        if "current-context" not in merged and data.get("current-context"):
            merged["current-context"] = data["current-context"]
    try:
        return KubeConfig.from_dict(merged)
    except (ConfigError, KeyError, TypeError, ValueError) as err:
        raise InputError(f"the kubeconfig is not valid: {err}", Location(file=files[0], path=flag)) from None


def _absolute_paths(entry: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative certificate/key paths in a kubeconfig are relative to that file, as kubectl reads them."""
    inner_key = "cluster" if "cluster" in entry else "user" if "user" in entry else None
    if inner_key is None or not isinstance(entry.get(inner_key), Mapping):
        return entry
    inner = dict(entry[inner_key])
    for key in ("certificate-authority", "client-certificate", "client-key", "tokenFile"):
        value = inner.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            inner[key] = str(base / value)
    return {**entry, inner_key: inner}


def _reason(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "its TLS certificate is not trusted by this kubeconfig's certificate-authority"
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    return text.splitlines()[0][:200]


def _json(resp: httpx2.Response, what: str) -> Obj:
    try:
        data = resp.json()
    except ValueError:
        raise ServerError(
            f"the API server answered {resp.status_code} with something that is not JSON for {what}",
            "is the kubeconfig pointing at a Kubernetes API server?",
        ) from None
    if not isinstance(data, dict):
        raise ServerError(f"the API server answered {what} with a JSON {type(data).__name__}, not an object")
    return data


_WARNING = re.compile(r'^\s*\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"')


def _warnings(resp: httpx2.Response) -> tuple[str, ...]:
    texts = []
    for value in resp.headers.get_list("warning"):
        m = _WARNING.match(value)
        texts.append(re.sub(r"\\(.)", r"\1", m.group(1)) if m else value)
    return tuple(texts)


def _install_hint(api_version: str) -> str:
    group = api_version.rpartition("/")[0]
    if group == "kubevirt.io":
        return "install KubeVirt (its operator creates the kubevirt.io CRDs)"
    if group == "spiderpool.spidernet.io":
        return "install SpiderPool (helm chart spiderpool)"
    if group == "k8s.cni.cncf.io":
        return "install Multus (SpiderPool's chart installs it with multus.enabled=true)"
    return "install the operator or CRD that provides it"


def _status_error(
    resp: httpx2.Response,
    *,
    what: str,
    verb: str,
    resource: Resource | None,
    namespace: str | None,
    server: str,
) -> ClusterError:
    """One Kubernetes Status answer → one virtnet error with the object and the next step."""
    try:
        status = resp.json()
    except ValueError:
        status = {}
    if not isinstance(status, dict):
        status = {}
    code = resp.status_code
    message = str(status.get("message") or resp.reason_phrase or f"HTTP {code}")
    raw_details = status.get("details")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    if code == 401:
        return UnauthorizedError(
            f"the API server at {server} did not accept the kubeconfig's credentials (401 Unauthorized) for {what}",
            "log in again or refresh the token (kubectl get --raw /version tells the same)",
        )
    if code == 403:
        rname = resource.qualified if resource else "the API"
        where = f" in namespace {namespace}" if namespace else " (cluster-wide)"
        return ForbiddenError(
            f"forbidden: RBAC does not allow {verb} on {rname}{where} (reading or writing {what})",
            "ask for that permission; deploy/rbac/ has virtnet's read-only and apply ClusterRoles",
            verb=verb,
            resource=rname,
        )
    if code == 404:
        if details.get("kind") == "namespaces" and resource is not None and resource.plural != "namespaces":
            missing = details.get("name") or namespace
            return NotFoundError(
                f"namespace {missing} does not exist (needed by {what})",
                f"create it first (kubectl create namespace {missing}) or put a Namespace object in the input",
            )
        return NotFoundError(f"{what} does not exist", None)
    if code == 409:
        managers = tuple(sorted(set(re.findall(r'conflicts? with "([^"]+)"', message))))
        fields = tuple(
            (m.group(1), str(c.get("field", "")))
            for c in (details.get("causes") or [])
            if isinstance(c, dict)
            and (m := re.match(r'conflict with "([^"]+)"', str(c.get("message", "")))) is not None
        )
        if managers:
            hint = (
                f"those fields belong to {', '.join(managers)}; change them there, or take them over with "
                "--force-conflicts"
            )
        else:
            hint = "it changed since it was read; run the command again"
        return ConflictError(f"{what}: {message}", hint, managers=managers, fields=fields)
    if code in (400, 422):
        causes = [
            f"{c.get('field', '')}: {c.get('message', '')}".strip(": ")
            for c in (details.get("causes") or [])
            if isinstance(c, dict)
        ]
        said = "; ".join(causes) if causes else message
        return RejectedError(f"the API server refused {what}: {said}", "fix the manifest (virtnet lint tells where)")
    if code == 500 and message.startswith("failed to create typed patch object"):
        # an applied field the schema does not declare, on an existing object: kube-apiserver answers 500 where it
        # means 400 (kubernetes/kubernetes#122480, #139253)
        said = message.split("): ", 1)[-1]
        return RejectedError(f"the API server refused {what}: {said}", "fix the manifest (virtnet lint tells where)")
    if code == 410:
        return ServerError(f"listing {what} took too long and the server expired the list", "run the command again")
    if code == 429:
        return ServerError(f"the API server is overloaded (429) while handling {what}", "retry in a moment")
    return ServerError(
        f"the API server at {server} failed on {what} ({code} {resp.reason_phrase}: {message[:300]})",
        "retry; if it persists, look at the API server's logs",
    )

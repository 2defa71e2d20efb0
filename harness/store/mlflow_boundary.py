"""The MLflow boundary: the one place that points MLflow at a store, sets its HTTP retry
policy, and turns MLflow, requests, urllib3, SQLAlchemy, sqlite3 and psycopg failures into
mlharness errors.

Conversion is by type, through one table (:data:`EXCEPTION_TABLE`), as httpx maps
httpcore's exceptions at one seam: nothing above this module needs to know which library
failed. It sees ``SourceError`` (exit 2: the thing asked for does not exist or is invalid)
or ``ExternalServiceError`` (exit 5: the store failed, or could not be reached, after
retries). The one place where MLflow leaves only text, a unique violation answered by a
tracking *server* as HTTP 400, is isolated in :func:`_rest_unique_violation`.

The retry policy, stated once (the README repeats it): MLflow retries a failed HTTP request
``MAX_RETRIES`` times on connection errors and on 429/5xx answers, with urllib3's exponential
back-off (no wait before the first retry, then ``BACKOFF_FACTOR`` s doubling, plus up to
``BACKOFF_JITTER_S`` of jitter), and gives one request ``REQUEST_TIMEOUT_S`` seconds. A closed
port therefore fails in about 3 s, inside the 10 s bound. A variable the user set in the
environment wins over the policy.

Nothing here writes to ``os.environ`` for good. In this process the policy is MLflow's
*default* for each variable (its ``_EnvironmentVariable.default``, read only when the
variable is unset); a child process gets it, with the tracking URI, in its own environment
(:func:`child_env`). MLflow keeps the tracking URI in a process global (and mirrors it into
``os.environ``); the code that must use that global (``mlflow.projects.run``, model loading
by ``models:/`` URI, ``mlflow.models.evaluate``) runs inside :func:`fluent_uri`, the one
scoped context, which restores the globals and the environment when it ends.
"""

from __future__ import annotations

import enum
import importlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from harness.kernel.errors import ExternalServiceError, InternalError, MlharnessError, SourceError
from harness.kernel.redaction import redact

if TYPE_CHECKING:
    from mlflow import MlflowClient

    # The type of a store client, for the modules that hold one (they never import MLflow's
    # client module themselves: the import contract keeps it inside harness.store).
    Client: TypeAlias = MlflowClient

__all__ = [
    "CODE_TABLE",
    "EXCEPTION_TABLE",
    "HTTP_POLICY",
    "LIBRARY_MODULES",
    "NEVER_RAISED",
    "OUTPUT_POLICY",
    "Client",
    "Failure",
    "Rule",
    "absolute_uri",
    "apply_policy",
    "child_env",
    "classify",
    "client",
    "connect",
    "convert",
    "converted",
    "first_line",
    "fluent_uri",
    "is_not_found",
    "mapped",
    "resolve_uri",
]

MAX_RETRIES = 2
BACKOFF_FACTOR = 1  # MLflow reads it as an int
BACKOFF_JITTER_S = 0.5
REQUEST_TIMEOUT_S = 30
HTTP_POLICY: dict[str, str] = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(MAX_RETRIES),
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": str(BACKOFF_FACTOR),
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": str(BACKOFF_JITTER_S),
    "MLFLOW_HTTP_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT_S),
}
# MLflow prints a "View run" link on stdout when a run ends against a server, which would
# break a command's --json document, and download progress bars on stderr, which would
# break its one-line errors: the commands print their own results.
OUTPUT_POLICY: dict[str, str] = {
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
_MAX_DETAIL = 200


# -- the policy -------------------------------------------------------------------------------
_POLICY_APPLIED = False
_POLICY_LOCK = threading.Lock()


def apply_policy() -> None:
    """Make the retry and output policy MLflow's default in this process (a variable set
    in the environment still wins); ``os.environ`` is not touched. Idempotent."""
    global _POLICY_APPLIED
    if _POLICY_APPLIED:
        return
    from mlflow import environment_variables

    with _POLICY_LOCK:
        for name, value in {**HTTP_POLICY, **OUTPUT_POLICY}.items():
            variable = getattr(environment_variables, name)
            typed = value == "true" if variable.type is bool else variable.type(value)
            variable.default = typed
        _POLICY_APPLIED = True


def child_env(uri: str | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process that talks to the store: ``base`` (default: this
    process's environment) with the policy (where ``base`` does not set a variable) and, when
    given, ``MLFLOW_TRACKING_URI``. This process's environment is not changed."""
    env = dict(os.environ if base is None else base)
    for name, value in {**HTTP_POLICY, **OUTPUT_POLICY}.items():
        env.setdefault(name, value)
    if uri is not None:
        env["MLFLOW_TRACKING_URI"] = uri
    return env


# -- the tracking URI -------------------------------------------------------------------------
def absolute_uri(uri: str) -> str:
    """``sqlite:///relative.db`` -> ``sqlite:////abs/relative.db``; others unchanged.

    MLflow runs an entry point in the project directory, where a relative sqlite path would
    name another database.
    """
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/"):
        return prefix + os.path.abspath(uri[len(prefix) :])
    return uri


def resolve_uri(uri: str | None) -> str:
    """The store ``uri`` names: the option, else ``MLFLOW_TRACKING_URI``, else MLflow's
    default (sqlite ``mlflow.db`` in the working directory); relative sqlite made absolute."""
    if uri:
        return absolute_uri(uri)
    import mlflow

    return absolute_uri(os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri())


def connect(uri: str | None) -> str:
    """The resolved URI of the store ``uri`` names, with the policy applied in this process.
    Changes no MLflow global and no environment variable: pass the URI on."""
    apply_policy()
    return resolve_uri(uri)


def client(uri: str) -> Client:
    """A client for tracking and registry at ``uri`` (the policy applied); a sqlite store
    that does not exist yet starts as a copy of a migrated one (:mod:`harness.store.new_store`)."""
    apply_policy()
    from mlflow import MlflowClient

    from harness.store.new_store import ensure_store

    ensure_store(uri)
    with converted(uri, "connect"):
        return MlflowClient(tracking_uri=uri, registry_uri=uri)


class _SharedScope:
    """Who holds MLflow's process globals now: threads asking for the same URI and
    environment share them; a thread asking for another waits until they are done."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.key: tuple[str, tuple[tuple[str, str], ...]] | None = None
        self.holders = 0
        self.saved: tuple[object, object, dict[str, str | None]] | None = None


_SCOPE = _SharedScope()


@contextmanager
def fluent_uri(uri: str, env: Mapping[str, str] | None = None) -> Iterator[None]:
    """MLflow's global (fluent) tracking and registry URI point at ``uri`` for a block, and
    ``os.environ`` holds what MLflow's child processes inherit (the URI, the policy, ``env``).

    Needed where MLflow reads the process globals instead of a client's URI:
    ``mlflow.projects.run`` (its entry point's environment is a copy of ``os.environ``),
    ``mlflow.pyfunc.load_model`` of a ``models:/`` URI, ``mlflow.models.evaluate``, and the
    SQL registry store resolving a ``models:/m-<id>`` source (a TODO in mlflow's
    sqlalchemy_store). Everything is restored when the block ends. Threads on the same store
    share the block; a thread on another store waits for it.
    """
    apply_policy()
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    extra = {**{k: v for k, v in HTTP_POLICY.items() if k not in os.environ}, **(env or {})}
    extra.update({k: v for k, v in OUTPUT_POLICY.items() if k not in os.environ})
    key = (uri, tuple(sorted(extra.items())))
    with _SCOPE.condition:
        _SCOPE.condition.wait_for(lambda: _SCOPE.holders == 0 or _SCOPE.key == key)
        if _SCOPE.holders == 0:
            # Save the raw globals and variables, not get_*_uri(): those resolve the
            # defaults, and setting a resolved default back would pin it for the process.
            names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", *extra)
            _SCOPE.saved = (
                tracking_utils._tracking_uri,
                registry_utils._registry_uri,
                {name: os.environ.get(name) for name in names},
            )
            os.environ.update(extra)
            mlflow.set_tracking_uri(uri)
            mlflow.set_registry_uri(uri)
            _SCOPE.key = key
        _SCOPE.holders += 1
    try:
        yield
    finally:
        with _SCOPE.condition:
            _SCOPE.holders -= 1
            if _SCOPE.holders == 0 and _SCOPE.saved is not None:
                tracking, registry, saved_env = _SCOPE.saved
                tracking_utils._tracking_uri = tracking  # type: ignore[assignment]
                registry_utils._registry_uri = registry  # type: ignore[assignment]
                for name, value in saved_env.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
                _SCOPE.key, _SCOPE.saved = None, None
                _SCOPE.condition.notify_all()


# -- the exception table ----------------------------------------------------------------------
class Failure(enum.Enum):
    """What a failure of the store means, whichever library raised it."""

    NOT_FOUND = "not found"  # the store answered: no such run, model, version, alias
    ALREADY_EXISTS = "already exists"  # the store answered: it exists already
    CONFLICT = "conflict"  # a concurrent insert of the same row (a unique violation)
    INVALID = "invalid"  # the store refused the request as invalid
    DENIED = "denied"  # the store refused the credentials
    UNREACHABLE = "unreachable"  # no answer: connection refused or reset, timeout, locked
    FAILED = "failed"  # the store answered with an error of its own


def _sqlite_integrity(exc: BaseException) -> Failure:
    """sqlite names its constraint (``sqlite_errorname``): unique or primary key means a
    concurrent insert of the same row; another constraint, an invalid request."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    unique = name in {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}
    return Failure.CONFLICT if unique else Failure.INVALID


def _by_error_code(exc: BaseException) -> Failure:
    code = str(getattr(exc, "error_code", "") or "INTERNAL_ERROR")
    if code == "BAD_REQUEST" and _rest_unique_violation(exc):
        return Failure.CONFLICT
    return CODE_TABLE.get(code, Failure.FAILED)


@dataclass(frozen=True)
class Rule:
    """One row of the table: a library's exception class (by import path), what it means,
    and whether it is precise (a root cause: connection, timeout, constraint) or a library's
    catch-all base class (used only when nothing more precise is in the chain)."""

    path: str
    means: Failure | Callable[[BaseException], Failure]
    precise: bool = True


# Read top-down: a class listed before its base class wins. MLflow wraps the library's
# exception (``raise MlflowException(...) from e``, or inside ``except``), so the whole
# chain of causes is looked at: see :func:`classify`.
EXCEPTION_TABLE: tuple[Rule, ...] = (
    # transport: no answer from the server
    Rule("requests.exceptions.ConnectionError", Failure.UNREACHABLE),
    Rule("requests.exceptions.Timeout", Failure.UNREACHABLE),
    Rule("requests.exceptions.RetryError", Failure.FAILED),  # 429/5xx after the retries
    Rule("requests.exceptions.RequestException", Failure.FAILED, precise=False),
    Rule("urllib3.exceptions.MaxRetryError", Failure.UNREACHABLE),
    Rule("urllib3.exceptions.NewConnectionError", Failure.UNREACHABLE),
    Rule("urllib3.exceptions.TimeoutError", Failure.UNREACHABLE),
    Rule("urllib3.exceptions.ProtocolError", Failure.UNREACHABLE),
    Rule("urllib3.exceptions.HTTPError", Failure.FAILED, precise=False),
    Rule("urllib3.exceptions.ProxySchemeUnsupported", Failure.INVALID),  # HTTPS_PROXY's scheme
    Rule("builtins.ConnectionError", Failure.UNREACHABLE),
    Rule("builtins.TimeoutError", Failure.UNREACHABLE),
    # SQL stores: the driver's exception, then SQLAlchemy's wrapper of it
    Rule("psycopg.errors.UniqueViolation", Failure.CONFLICT),
    Rule("psycopg.IntegrityError", Failure.INVALID),
    Rule("psycopg.OperationalError", Failure.UNREACHABLE),
    Rule("psycopg.Error", Failure.FAILED, precise=False),
    Rule("psycopg.Warning", Failure.FAILED, precise=False),
    Rule("sqlite3.IntegrityError", _sqlite_integrity),
    Rule("sqlite3.OperationalError", Failure.UNREACHABLE),  # cannot open, locked
    Rule("sqlite3.Error", Failure.FAILED, precise=False),
    Rule("sqlite3.Warning", Failure.FAILED, precise=False),
    Rule("sqlalchemy.exc.IntegrityError", Failure.INVALID),  # its cause names the constraint
    Rule("sqlalchemy.exc.OperationalError", Failure.UNREACHABLE),
    Rule("sqlalchemy.exc.TimeoutError", Failure.UNREACHABLE),  # connection pool exhausted
    Rule("sqlalchemy.exc.SQLAlchemyError", Failure.FAILED, precise=False),
    Rule("sqlalchemy.exc.EmulatedDBAPIException", Failure.FAILED, precise=False),
    # MLflow: its own exceptions carry an error code (the REST API's, or the store's)
    Rule("mlflow.exceptions.InvalidUrlException", Failure.INVALID),
    Rule("mlflow.exceptions.MissingConfigException", Failure.INVALID),
    Rule("mlflow.exceptions.MlflowException", _by_error_code),
)

# The modules whose exceptions the store can raise (the completeness test checks that every
# exception class they define is covered by a row of the table).
LIBRARY_MODULES = (
    "mlflow.exceptions",
    "requests.exceptions",
    "urllib3.exceptions",
    "sqlalchemy.exc",
    "sqlite3",
    "psycopg",
    "psycopg.errors",
)

# Exception classes of those modules that never leave the library (control flow).
NEVER_RAISED = frozenset({"psycopg.Rollback"})  # caught by psycopg's own transaction block

# MLflow's error codes (``mlflow.protos.databricks_pb2.ErrorCode``), every one of them: a
# test fails when an MLflow upgrade adds one that is not here.
_CODES: dict[Failure, tuple[str, ...]] = {
    Failure.NOT_FOUND: (
        "NOT_FOUND",
        "RESOURCE_DOES_NOT_EXIST",
        "MANAGED_RESOURCE_GROUP_DOES_NOT_EXIST",
        "METASTORE_DOES_NOT_EXIST",
        "DAC_DOES_NOT_EXIST",
        "CATALOG_DOES_NOT_EXIST",
        "SCHEMA_DOES_NOT_EXIST",
        "TABLE_DOES_NOT_EXIST",
        "SHARE_DOES_NOT_EXIST",
        "RECIPIENT_DOES_NOT_EXIST",
        "STORAGE_CREDENTIAL_DOES_NOT_EXIST",
        "EXTERNAL_LOCATION_DOES_NOT_EXIST",
        "PRINCIPAL_DOES_NOT_EXIST",
        "PROVIDER_DOES_NOT_EXIST",
    ),
    Failure.ALREADY_EXISTS: (
        "ALREADY_EXISTS",
        "RESOURCE_ALREADY_EXISTS",
        "METASTORE_ALREADY_EXISTS",
        "DAC_ALREADY_EXISTS",
        "CATALOG_ALREADY_EXISTS",
        "SCHEMA_ALREADY_EXISTS",
        "TABLE_ALREADY_EXISTS",
        "SHARE_ALREADY_EXISTS",
        "RECIPIENT_ALREADY_EXISTS",
        "STORAGE_CREDENTIAL_ALREADY_EXISTS",
        "EXTERNAL_LOCATION_ALREADY_EXISTS",
        "PROVIDER_ALREADY_EXISTS",
    ),
    Failure.CONFLICT: ("RESOURCE_CONFLICT", "ABORTED", "GIT_CONFLICT"),
    Failure.INVALID: (
        "BAD_REQUEST",
        "INVALID_PARAMETER_VALUE",
        "MALFORMED_REQUEST",
        "INVALID_STATE",
        "INVALID_STATE_TRANSITION",
        "NOT_IMPLEMENTED",
        "FEATURE_DISABLED",
        "MAX_BLOCK_SIZE_EXCEEDED",
        "MAX_READ_SIZE_EXCEEDED",
        "MAX_LIST_SIZE_EXCEEDED",
        "MAX_NOTEBOOK_SIZE_EXCEEDED",
        "MAX_CHILD_NODE_SIZE_EXCEEDED",
        "SEARCH_QUERY_TOO_LONG",
        "SEARCH_QUERY_TOO_SHORT",
        "DIRECTORY_NOT_EMPTY",
        "DIRECTORY_PROTECTED",
        "CATALOG_NOT_EMPTY",
        "SCHEMA_NOT_EMPTY",
        "METASTORE_NOT_EMPTY",
        "DRY_RUN_FAILED",
        "GIT_UNKNOWN_REF",
        "GIT_SENSITIVE_TOKEN_DETECTED",
        "GIT_URL_NOT_ON_ALLOW_LIST",
        "IPYNB_FILE_IN_REPO",
    ),
    Failure.DENIED: (
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "CUSTOMER_UNAUTHORIZED",
        "PERMISSION_NOT_PROPAGATED",
        "PROVIDER_SHARE_NOT_ACCESSIBLE",
    ),
    Failure.UNREACHABLE: (
        "TEMPORARILY_UNAVAILABLE",
        "DEADLINE_EXCEEDED",
        "SERVICE_UNDER_MAINTENANCE",
        "WORKSPACE_TEMPORARILY_UNAVAILABLE",
        "DEPLOYMENT_TIMEOUT",
        "PROJECTS_OPERATION_TIMEOUT",
    ),
    Failure.FAILED: (
        "INTERNAL_ERROR",
        "IO_ERROR",
        "DATA_LOSS",
        "CANCELLED",
        "RESOURCE_EXHAUSTED",
        "REQUEST_LIMIT_EXCEEDED",
        "QUOTA_EXCEEDED",
        "RESOURCE_LIMIT_EXCEEDED",
        "COULD_NOT_ACQUIRE_LOCK",
        "PARTIAL_DELETE",
        "UNPARSEABLE_HTTP_ERROR",
        "INSECURE_PARTNER_RESPONSE",
        "MALFORMED_PARTNER_RESPONSE",
        "GIT_REMOTE_ERROR",
        "ENDPOINT_NOT_FOUND",  # a 404 without MLflow's JSON: the URI is not an MLflow server
    ),
}
CODE_TABLE: dict[str, Failure] = {code: kind for kind, codes in _CODES.items() for code in codes}
# The codes MLflow puts on the exception it wraps a library's failure in: its cause says
# more than the code does (MLflow's SQL store turns every SQLAlchemy error into BAD_REQUEST).
_WRAPPER_CODES = frozenset({"INTERNAL_ERROR", "BAD_REQUEST", "TEMPORARILY_UNAVAILABLE"})


def _rest_unique_violation(exc: BaseException) -> bool:
    """A tracking *server* answers a unique violation (two first-time sets of one alias at
    once) with HTTP 400 ``BAD_REQUEST`` and the database's message as text: the exception
    type stayed on the server, so this one case is read from the text. A SQL store in
    this process raises the driver's typed exception instead (see the table)."""
    if type(exc).__name__ != "RestException":
        return False
    text = str(getattr(exc, "message", "") or exc)
    return any(
        needle in text
        for needle in ("UniqueViolation", "UNIQUE constraint failed", "duplicate key value")
    )


_RESOLVED: list[tuple[type[BaseException], Rule]] | None = None


def _rules() -> list[tuple[type[BaseException], Rule]]:
    """The table with its classes imported (rows of libraries not installed are left out)."""
    global _RESOLVED
    if _RESOLVED is None:
        found: list[tuple[type[BaseException], Rule]] = []
        for rule in EXCEPTION_TABLE:
            module_name, _, name = rule.path.rpartition(".")
            try:
                kind = getattr(importlib.import_module(module_name), name)
            except (ImportError, AttributeError):
                continue
            found.append((kind, rule))
        _RESOLVED = found
    return _RESOLVED


def _rule_for(exc_type: type[BaseException]) -> Rule | None:
    for kind, rule in _rules():
        if issubclass(exc_type, kind):
            return rule
    return None


def mapped(exc_type: type[BaseException]) -> bool:
    """Whether a row of the table covers ``exc_type``."""
    return _rule_for(exc_type) is not None


def _means(rule: Rule, exc: BaseException) -> Failure:
    return rule.means if isinstance(rule.means, Failure) else rule.means(exc)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes, outermost first (``__cause__``, else ``__context__``)."""
    links: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in links and len(links) < 32:
        links.append(link)
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    return links


def classify(exc: BaseException) -> Failure | None:
    """What ``exc`` means for the store, by type through :data:`EXCEPTION_TABLE`; None when
    no row covers it (not a failure of the store: a bug, or the caller's own exception).

    MLflow's own verdict wins when it is specific (an error code such as
    ``RESOURCE_DOES_NOT_EXIST``); when it is only a wrapper's code (``INTERNAL_ERROR``,
    ``BAD_REQUEST``...), the deepest precise cause in the chain decides (a refused
    connection, a timeout, a unique violation), then the wrapper's code, then a library's
    catch-all class.
    """
    decided = _decide(exc)
    return None if decided is None else decided[0]


def _decide(exc: BaseException) -> tuple[Failure, BaseException] | None:
    """:func:`classify`, with the link of the chain that decided."""
    links = [(link, _rule_for(type(link))) for link in _chain(exc)]
    mapped_links = [(link, rule) for link, rule in links if rule is not None]
    for link, rule in mapped_links:
        code = str(getattr(link, "error_code", ""))
        if rule.path == "mlflow.exceptions.MlflowException" and code not in _WRAPPER_CODES:
            return _means(rule, link), link
    precise = [
        (link, rule)
        for link, rule in mapped_links
        if rule.precise and rule.path != "mlflow.exceptions.MlflowException"
    ]
    if precise:
        link, rule = precise[-1]
        return _means(rule, link), link
    if mapped_links:
        link, rule = mapped_links[0]
        return _means(rule, link), link
    return None


def is_not_found(exc: BaseException) -> bool:
    """True for the store's "does not exist" answers."""
    return classify(exc) is Failure.NOT_FOUND


def first_line(exc: BaseException) -> str:
    """The first line of a library's message, credentials removed, at most 200 characters."""
    text = str(getattr(exc, "message", None) or exc).strip().splitlines()
    line = redact(text[0]) if text else type(exc).__name__
    return line if len(line) <= _MAX_DETAIL else line[: _MAX_DETAIL - 3] + "..."


def convert(uri: str, what: str, exc: BaseException) -> MlharnessError:
    """The mlharness error for a failure of ``what`` against the store at ``uri``."""
    if isinstance(exc, MlharnessError):
        return exc
    store = redact(uri)
    decided = _decide(exc)
    kind = None if decided is None else decided[0]
    detail = first_line(exc)
    if kind in {Failure.NOT_FOUND, Failure.ALREADY_EXISTS, Failure.CONFLICT, Failure.INVALID}:
        return SourceError(f"cannot {what}: {detail}", hint=f"store {store}")
    if kind is Failure.UNREACHABLE and decided is not None:
        # The root cause (connection refused, timed out, database locked) says it best.
        return ExternalServiceError(
            f"tracking store {store} is unreachable: cannot {what}: {first_line(decided[1])}",
            hint="is the server running? check --tracking-uri",
        )
    if kind is Failure.DENIED:
        return ExternalServiceError(
            f"tracking store {store} refused the credentials: cannot {what}: {detail}",
            hint="check MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN",
        )
    if kind is Failure.FAILED:
        return ExternalServiceError(f"tracking store {store}: cannot {what}: {detail}")
    return InternalError(f"cannot {what}: {type(exc).__name__}: {detail}")


@contextmanager
def converted(uri: str, what: str = "complete the request") -> Iterator[None]:
    """Convert failures of a block of MLflow calls against ``uri`` into mlharness errors;
    an exception no row of the table covers passes unchanged."""
    try:
        yield
    except MlharnessError:
        raise
    except Exception as exc:
        if classify(exc) is None:
            raise
        raise convert(uri, what, exc) from exc

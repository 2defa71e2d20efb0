"""The run memo's read-only store queries, answered without importing MLflow.

A cached ``mlharness run`` answers in about 0.25 s because it asks the store one question
(the newest FINISHED run carrying a tag) with the standard library: read-only SQL on a
sqlite store, or MLflow's public REST API on a tracking server. Importing MLflow for the
same question costs about 2.5 s. The answer must be exactly what
``harness.store.tracking.Tracking.newest_finished_with_tag`` gives, so:

* the SQL is written against MLflow's schema at one alembic revision
  (:data:`KNOWN_REVISIONS`: the head of the pinned MLflow's migrations). The store's
  revision (``alembic_version``) is read first; a store at any other revision raises
  ``LookupError`` and the caller takes the full path (MLflow itself);
* the REST request is MLflow's versioned public API (``/api/2.0/mlflow``), with the same
  filter and order as the client's search.

Everything here is a question, never a write; any doubt is ``LookupError`` (or the
library's own error) and the caller falls through to MLflow.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from typing import Any

__all__ = [
    "HTTP_TIMEOUT_S",
    "KNOWN_REVISIONS",
    "newest_http_hit",
    "newest_sqlite_hit",
    "sqlite_revision",
    "store_answer",
]

# The alembic revision of MLflow's SQL schema the query below was written and tested for:
# the head of the pinned mlflow's migrations (a test checks it against the installed one).
KNOWN_REVISIONS = frozenset({"dc11669786a5"})
HTTP_TIMEOUT_S = 3.0
# Paths MLflow turns into the same sqlite URI text (no quoting by pathname2url needed).
_PLAIN_PATH = re.compile(r"^/[A-Za-z0-9/._+-]*$")
# Client settings the plain urllib request would not honour: leave those stores to MLflow.
_HTTP_CLIENT_VARS = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH",
    "MLFLOW_TRACKING_AUTH",
)


def _connect_read_only(db_path: str) -> sqlite3.Connection:
    return sqlite3.connect("file:" + db_path + "?mode=ro", uri=True, timeout=2.0)


def sqlite_revision(db_path: str) -> str | None:
    """The alembic revision of MLflow's schema in a sqlite store (None: no version table)."""
    with _connect_read_only(db_path) as con:
        try:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
    return str(row[0]) if row else None


def newest_sqlite_hit(db_path: str, tag: str, value: str) -> str | None:
    """The newest FINISHED run tagged ``tag=value`` in a sqlite store, read-only.

    Same filter (FINISHED, active run in an active experiment, tag equal to the value) and
    the same order as MLflow's sqlalchemy store (start time, nulls last, then run id).
    Raises ``LookupError`` when the store's schema revision is not one this was written for.
    """
    revision = sqlite_revision(db_path)
    if revision not in KNOWN_REVISIONS:
        raise LookupError(f"{db_path}: MLflow schema revision {revision} is not known")
    with _connect_read_only(db_path) as con:
        row = con.execute(
            "SELECT r.run_uuid FROM runs r"
            " JOIN tags t ON t.run_uuid = r.run_uuid"
            " JOIN experiments e ON e.experiment_id = r.experiment_id"
            " WHERE t.key = ? AND t.value = ? AND r.status = 'FINISHED'"
            " AND r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active'"
            " ORDER BY (r.start_time IS NULL), r.start_time DESC, r.run_uuid LIMIT 1",
            (tag, value),
        ).fetchone()
    return str(row[0]) if row else None


def _post(url: str, body: dict[str, Any]) -> Any:
    import urllib.request  # REST stores only: a sqlite answer does not pay for http/email

    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
        return json.loads(response.read())


def newest_http_hit(base_url: str, tag: str, value: str) -> str | None:
    """The same question asked of an MLflow tracking server over its public REST API."""
    api = base_url.rstrip("/") + "/api/2.0/mlflow"
    ids: list[str] = []
    token = None
    while True:
        body: dict[str, Any] = {"max_results": 1000, "view_type": "ACTIVE_ONLY"}
        if token:
            body["page_token"] = token
        page = _post(f"{api}/experiments/search", body)
        ids.extend(str(e["experiment_id"]) for e in page.get("experiments", []))
        token = page.get("next_page_token")
        if not token:
            break
    if not ids:
        return None
    found = _post(
        f"{api}/runs/search",
        {
            "experiment_ids": ids,
            "filter": f"tags.`{tag}` = '{value}' and attributes.status = 'FINISHED'",
            "max_results": 1,
            "order_by": ["attributes.start_time DESC"],
            "run_view_type": "ACTIVE_ONLY",
        },
    )
    runs = found.get("runs", [])
    return str(runs[0]["info"]["run_id"]) if runs else None


def store_answer(tracking_uri: str, tag: str, value: str) -> str | None:
    """The store's newest FINISHED run tagged ``tag=value``; ``LookupError`` for a store
    this module does not answer for (another scheme, quoted path, credentials, an unknown
    schema revision)."""
    sqlite_prefix = "sqlite:///"
    if tracking_uri.startswith(sqlite_prefix):
        path = tracking_uri[len(sqlite_prefix) :]
        if not _PLAIN_PATH.match(path) or not os.path.isfile(path):
            raise LookupError(tracking_uri)
        return newest_sqlite_hit(path, tag, value)
    if re.match(r"^https?://[^@/]+(/|$)", tracking_uri) and not any(
        os.environ.get(name) for name in _HTTP_CLIENT_VARS
    ):
        return newest_http_hit(tracking_uri, tag, value)
    raise LookupError(tracking_uri)

"""The two HTTP questions ``up`` asks the stack it started: are the pipeline's DAGs loaded
and unpaused (Airflow's REST API, with a token from the api-server), and does a version
hold the alias yet (MLflow's REST API). Plain urllib: no client library to import."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

__all__ = ["AirflowApi", "alias_version"]


def _call(
    url: str,
    method: str = "GET",
    body: object | None = None,
    token: str | None = None,
    timeout_s: float = 10.0,
) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.loads(response.read() or b"null")


class AirflowApi:
    """Airflow 3's REST API (``/api/v2``) as the stack's admin."""

    def __init__(self, base_url: str, user: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.password = password
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            answer = _call(
                f"{self.base_url}/auth/token",
                "POST",
                {"username": self.user, "password": self.password},
            )
            self._token = str(answer["access_token"])
        return self._token

    def dag_loaded(self, dag_id: str) -> bool:
        """True once the dag-processor has parsed ``dag_id``; unpauses it if paused."""
        try:
            dag = _call(f"{self.base_url}/api/v2/dags/{dag_id}", token=self.token())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise
        if dag.get("is_paused"):
            _call(
                f"{self.base_url}/api/v2/dags/{dag_id}",
                "PATCH",
                {"is_paused": False},
                token=self.token(),
            )
        return True


def alias_version(mlflow_url: str, model: str, alias: str) -> str | None:
    """The version holding ``model@alias``, or None while none does (or MLflow is away)."""
    query = urllib.parse.urlencode({"name": model, "alias": alias})
    try:
        answer = _call(f"{mlflow_url}/api/2.0/mlflow/registered-models/alias?{query}")
    except (OSError, ValueError):
        return None
    version = (answer or {}).get("model_version", {}).get("version")
    return str(version) if version else None

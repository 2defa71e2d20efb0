"""The hostname Airflow records for a task instance on this machine's stack.

Every process of a local stack runs on one host, so the machine's name cannot say which
Celery worker ran a task. ``up`` gives each worker a name in an environment variable and
points ``[core] hostname_callable`` here; a process without the variable (the scheduler,
the api-server) reports the machine's name as Airflow would.
"""

from __future__ import annotations

import os
import socket

from orchestration.services import AIRFLOW_HOSTNAME_ENV

__all__ = ["airflow_hostname"]


def airflow_hostname() -> str:
    """The worker's name from ``MLHARNESS_AIRFLOW_HOSTNAME``, else the machine's FQDN."""
    return os.environ.get(AIRFLOW_HOSTNAME_ENV) or socket.getfqdn()

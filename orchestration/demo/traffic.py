"""The demo's load: ``dataframe_split`` bodies cut from a table, POSTed from a few threads
through one ``httpx`` client, and what came back."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pandas as pd

__all__ = ["Traffic", "burst", "dataframe_split_bodies"]

TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Traffic:
    """What a burst of requests got back: answers by status code, time, rows sent."""

    requests: int
    statuses: dict[str, int]
    seconds: float
    rows: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def dataframe_split_bodies(frame: pd.DataFrame, rows_per_request: Sequence[int]) -> list[bytes]:
    """One ``{"dataframe_split": ...}`` body per entry: consecutive slices of ``frame``,
    starting over at its end."""
    bodies, start = [], 0
    for rows in rows_per_request:
        if start + rows > len(frame):
            start = 0
        part = frame.iloc[start : start + rows]
        split = part.to_json(orient="split", index=False, double_precision=15)
        bodies.append(b'{"dataframe_split": ' + split.encode() + b"}")
        start += rows
    return bodies


def burst(url: str, bodies: Sequence[bytes], rows: int, threads: int) -> Traffic:
    """POST every body (``rows`` rows in all) to ``url`` from ``threads`` threads at once;
    a transport error counts under its exception's name."""
    headers = {"Content-Type": "application/json"}
    with httpx.Client(timeout=TIMEOUT_S, headers=headers) as client:

        def post(body: bytes) -> str:
            try:
                return str(client.post(url, content=body).status_code)
            except httpx.HTTPError as exc:
                return type(exc).__name__

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            statuses = Counter(pool.map(post, bodies))
        seconds = time.monotonic() - started
    return Traffic(len(bodies), dict(sorted(statuses.items())), seconds, rows)

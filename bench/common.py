"""What every benchmark in bench/ shares: the machine, its load, alternating rounds, JSON.

A shared machine makes every single figure suspect, so each benchmark:

- records the machine (cores, Python, CPU model, date) and its load average before and
  after (``Session``), and prints both;
- measures the contenders of one comparison in alternating rounds (``alternate``): round 1
  runs A then B, round 2 B then A, ..., so a change of load hits both sides alike;
- times whole processes (``run_timed``: wall time, user+sys CPU and peak RSS of the child,
  from ``wait4``), because the user runs a whole process, imports and file reads included;
- writes its JSON atomically under bench/results/ (``Session.write``), with the machine and
  the load in it, so no figure exists without the load it was measured under.

Use from a bench script (run with ``python -P``, so bench/ is not first on sys.path and
bench/harness.py cannot shadow the harness package)::

    sys.path.append(str(Path(__file__).resolve().parent))
    from common import Session, alternate, run_timed

    session = Session("mything")          # prints the machine and the load before
    rounds = alternate({"ours": f, "theirs": g}, rounds=3)
    session.write({"rows": ...})          # prints the load after, writes bench/results/mything.json
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "BENCH",
    "BIN",
    "QUIET_LOAD",
    "REPO",
    "RESULTS",
    "Session",
    "Timed",
    "alternate",
    "load_average",
    "machine",
    "median",
    "run_timed",
    "verdict",
]

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent
# Below this 1-minute load average (on 2 cores) a figure counts as measured on a quiet machine.
QUIET_LOAD = 0.5

T = TypeVar("T")


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded."""
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


@dataclass
class Session:
    """One benchmark run: the machine and the load before; ``write`` adds the load after."""

    name: str
    started: str = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    )
    load_before: list[float] = field(default_factory=load_average)
    machine: dict[str, Any] = field(default_factory=machine)

    def __post_init__(self) -> None:
        m = self.machine
        print(
            f"[{self.name}] {self.started} on {m['cpus']} cpus ({m['cpu_model']}), "
            f"load before {self.load_before}",
            flush=True,
        )

    def write(
        self, payload: Mapping[str, Any], name: str | None = None, path: Path | None = None
    ) -> Path:
        """Print the load after and write payload + machine + loads to bench/results/NAME.json
        (or to ``path``, a script's ``--results``)."""
        after = load_average()
        quiet = max(self.load_before[0], after[0]) < QUIET_LOAD
        state = "quiet machine" if quiet else "LOADED machine: not idle-machine figures"
        print(f"[{self.name}] load before {self.load_before}, after {after}: {state}", flush=True)
        document = {
            "benchmark": self.name,
            "started": self.started,
            "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": self.machine,
            "load_before": self.load_before,
            "load_after": after,
            "quiet": quiet,
            **payload,
        }
        path = path or RESULTS / f"{name or self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, indent=2, default=str) + "\n")
        tmp.replace(path)
        try:
            shown = path.relative_to(Path.cwd())
        except ValueError:
            shown = path
        print(f"wrote {shown}", flush=True)
        return path


def alternate(
    contenders: Mapping[str, Callable[[], T]], rounds: int, *, label: str = ""
) -> dict[str, list[T]]:
    """Run every contender once per round, the order reversed every other round."""
    names = list(contenders)
    results: dict[str, list[T]] = {name: [] for name in names}
    for index in range(rounds):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            results[name].append(contenders[name]())
        if label:
            print(
                f"  {label} round {index + 1}/{rounds} done (load {load_average()[0]})", flush=True
            )
    return results


@dataclass(frozen=True)
class Timed:
    """One whole process: wall seconds, user+sys CPU seconds, peak RSS, exit code, output."""

    wall_s: float
    cpu_s: float
    peak_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall_s, 4),
            "cpu_s": round(self.cpu_s, 4),
            "peak_rss_bytes": self.peak_rss_bytes,
        }


def run_timed(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> Timed:
    """Run one command as a whole process: its wall time, and from ``wait4`` its own CPU
    and peak RSS (a process's rusage includes the children it waited for)."""
    import signal
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=out,
            stderr=err,
            text=True,
        )
        deadline = None if timeout is None else started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG if deadline else 0)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                process.send_signal(signal.SIGKILL)
                os.wait4(process.pid, 0)
                raise SystemExit(f"{' '.join(command)} timed out after {timeout} s")
            time.sleep(0.01)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if check and process.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} exited {process.returncode}:\n{stdout[-2000:]}\n{stderr[-3000:]}"
        )
    return Timed(
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss * 1024,
        process.returncode,
        stdout,
        stderr,
    )


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"

"""Golden requests: probes that check the model's *answer*, not only its status code.

The blackbox exporter POSTs each golden request's body to ``/invocations`` (one module per
request, ``golden_<name>``) and fails the probe when the answer does not hold the expected
predictions (``fail_if_body_not_matches_regexp``; the exporter then sets
``probe_failed_due_to_regex``, which ``WrongAnswers`` reads). The expected answer is the
exact text the scoring server writes (MLflow's ``{"predictions": [...]}``), so the regular
expression is that text with every metacharacter escaped.

Where the expected answer comes from: the config (``monitoring.golden.requests[].expected``)
or, at promotion, the promoted model's own prediction (:mod:`monitoring.stack.golden_update`
writes it into ``blackbox.yml`` and ``golden/expected.json`` and reloads the exporter). A
re-render keeps what the last promotion wrote (``golden/expected.json`` is read back), so
rendering again never undoes a promotion. Until then a request with a body but no expected
answer checks only that predictions come back, and the input example (whose body only the
registry knows) probes that ``/invocations`` exists.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.schemas.slo import INPUT_EXAMPLE, GoldenRequests
from monitoring.stack.alert_types import Alert, Series, TestCase, steps
from monitoring.stack.settings import JOB_GOLDEN, StackSettings, duration

__all__ = [
    "EXPECTED_FILE",
    "MODULE_PREFIX",
    "GoldenProbe",
    "answer_regex",
    "answer_text",
    "expected_json",
    "golden_alerts",
    "module_config",
    "modules_yaml",
    "probes_from_config",
    "read_expected",
]

MODULE_PREFIX = "golden_"
EXPECTED_FILE = Path("golden") / "expected.json"
# RE2's metacharacters (the exporter is Go): each is escaped with a backslash.
_META = frozenset("\\.+*?()|[]{}^$")


@dataclass(frozen=True)
class GoldenProbe:
    """One golden request: its body (JSON text, None: not known yet) and the answer text
    the server must give (None: not known yet)."""

    name: str
    body: str | None
    answer: str | None
    source: str  # where the answer came from: "config", a model URI, or "" (none yet)

    @property
    def module(self) -> str:
        return f"{MODULE_PREFIX}{self.name}"


def answer_text(predictions: object) -> str:
    """The answer the scoring server writes for a list of predictions (MLflow's format)."""
    return json.dumps({"predictions": predictions})


def answer_regex(answer: str) -> str:
    """``answer`` as an RE2 expression that matches exactly that text."""
    return "".join(f"\\{ch}" if ch in _META else ch for ch in answer)


def module_config(probe: GoldenProbe, timeout: str) -> dict[str, object]:
    """The blackbox exporter module of one probe (one definition: render and promotion)."""
    http: dict[str, object] = {"preferred_ip_protocol": "ip4"}
    if probe.body is None:
        # The input example before the first promotion: only the route's existence.
        http.update({"method": "GET", "valid_status_codes": [405]})
    else:
        http.update(
            {
                "method": "POST",
                "headers": {"Content-Type": "application/json"},
                "body": probe.body,
                "valid_status_codes": [200],
                "fail_if_body_not_matches_regexp": [
                    answer_regex(probe.answer) if probe.answer else '"predictions"'
                ],
            }
        )
    return {"prober": "http", "timeout": timeout, "http": http}


def modules_yaml(probes: list[GoldenProbe], timeout: str, indent: int = 2) -> str:
    """The probes' modules as YAML lines under ``modules:`` (empty for no probes)."""
    import yaml

    if not probes:
        return ""
    text = yaml.safe_dump(
        {p.module: module_config(p, timeout) for p in probes},
        sort_keys=False,
        width=1_000_000,
        default_flow_style=False,
    )
    pad = " " * indent
    lines = text.rstrip("\n").splitlines(True)
    return "".join(pad + line if line.strip() else line for line in lines)


def probes_from_config(
    golden: GoldenRequests, carried: dict[str, GoldenProbe] | None = None
) -> list[GoldenProbe]:
    """The configured probes, with what the last promotion wrote (``carried``) taking the
    place of the config's answers (and of the input example's unknown body)."""
    carried = carried or {}
    probes = []
    for request in golden.requests:
        body = json.dumps(request.body)
        kept = carried.get(request.name)
        if kept is not None and kept.body == body and kept.answer and kept.source != "config":
            probes.append(kept)
        elif request.expected is not None:
            probes.append(GoldenProbe(request.name, body, answer_text(request.expected), "config"))
        else:
            probes.append(GoldenProbe(request.name, body, None, ""))
    if golden.from_input_example:
        probes.append(carried.get(INPUT_EXAMPLE) or GoldenProbe(INPUT_EXAMPLE, None, None, ""))
    return probes


def read_expected(stack_dir: Path) -> dict[str, GoldenProbe]:
    """What the last promotion wrote into ``stack_dir`` (empty if nothing readable)."""
    path = stack_dir / EXPECTED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {p["name"]: GoldenProbe(**p) for p in data["probes"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def expected_json(probes: list[GoldenProbe]) -> str:
    """The contents of ``golden/expected.json`` (stable: sorted keys, one probe per entry)."""
    return json.dumps({"probes": [asdict(p) for p in probes]}, indent=2, sort_keys=True) + "\n"


def golden_alerts(s: StackSettings) -> list[Alert]:
    """``WrongAnswers``, when golden requests are configured."""
    if not s.golden:
        return []
    i, ev, f = s.scrape_s, s.evaluation_s, s.for_s
    target = f"{s.serving.url}/invocations"
    name = s.golden[0]
    probe = (
        f'probe_failed_due_to_regex{{job="{JOB_GOLDEN}",service="scoring",'
        f'golden="{name}",instance="{target}"}}'
    )
    eval_s = f + 2 * ev
    n = steps(eval_s, i)
    return [
        Alert(
            name="WrongAnswers",
            severity="critical",
            expr=(
                f'max by (golden, instance) (probe_failed_due_to_regex{{job="{JOB_GOLDEN}"}}) == 1'
            ),
            for_s=f,
            summary="The served model gives a wrong answer to golden request {{ $labels.golden }}",
            description=(
                "The answer of {{ $labels.instance }} to the golden request {{ $labels.golden }} "
                f"has not held the expected predictions for {duration(f)}: the served model is "
                "not the one whose answers the probe expects."
            ),
            runbook=(
                "Compare the served version (`mlharness_model_info`, the `X-Model-Version` "
                "header) with the alias in the registry. A failed reload (ModelReloadFailed) "
                "keeps an old version serving; an alias moved by hand skipped the promote task, "
                "which writes the new answers into blackbox.yml (`golden/expected.json` says "
                "which model they came from); a dependency or preprocessing change alters "
                "predictions. Roll back (`mlharness registry rollback`) or re-run the promote "
                "task once the answer is known to be right."
            ),
            labels={"pipeline": s.pipeline, "service": "scoring"},
            firing=TestCase(
                i, eval_s, (Series(probe, f"1x{n}"),), True, {"golden": name, "instance": target}
            ),
            quiet=TestCase(i, eval_s, (Series(probe, f"0x{n}"),), False),
        )
    ]

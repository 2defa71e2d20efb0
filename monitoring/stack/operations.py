"""The render operation: pipeline config -> stack context -> cookiecutter -> OUT, all or nothing.

cookiecutter renders ``templates/monitoring-stack`` with no input into a staging directory
beside OUT; only a complete rendering replaces OUT (``harness.templating.render_tree``,
placement ``swap``), so a failure leaves the old stack as it was. Nothing in the output
depends on time or on the machine, so an unchanged config re-renders byte-identical
(``changed`` says whether any byte differs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.kernel.errors import MlharnessError
from harness.schemas.pipeline_config import load
from harness.templating import TEMPLATES_DIR, TemplateError, render_tree
from monitoring.stack.alerts import alerts_for
from monitoring.stack.context import (
    NETWORK,
    RECEIVER_PREFIX,
    RUNBOOK_BASE,
    StackContext,
    stack_context,
)
from monitoring.stack.golden import probes_from_config, read_expected
from monitoring.stack.settings import settings_from_config

__all__ = [
    "MARKER",
    "NETWORK",
    "RECEIVER_PREFIX",
    "RUNBOOK_BASE",
    "TEMPLATE_DIR",
    "StackContext",
    "StackFiles",
    "stack_context",
    "write_stack",
]

TEMPLATE_DIR = TEMPLATES_DIR / "monitoring-stack"
# A file every rendered stack has: OUT is replaced only when it holds one (or is empty).
MARKER = "prometheus.yml"


@dataclass(frozen=True)
class StackFiles:
    """What was (or would be) written."""

    config: str
    out: str
    files: list[str]
    digest: str
    changed: bool
    dry_run: bool
    alerts: list[str]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _replaceable(out: Path) -> None:
    if not out.is_dir():
        raise MlharnessError(f"{out} exists and is not a directory", hint="choose another -o")
    if any(out.iterdir()) and not (out / MARKER).is_file():
        raise MlharnessError(
            f"{out} is not empty and holds no rendered stack ({MARKER})",
            hint="choose an empty or new directory for -o",
        )


def write_stack(
    config_path: Path,
    out: Path,
    *,
    dry_run: bool = False,
    urls: Mapping[str, str] | None = None,
) -> StackFiles:
    """Render the stack of ``config_path`` into ``out`` (or only say what would change).

    ``urls`` replaces the config's ``monitoring`` addresses (``serving_url``, ``mlflow_url``,
    ``pushgateway_url``, ``alertmanager_url``, ``blackbox_url``): ``mlharness up`` points the
    same files at the services it runs on this machine."""
    config = load(config_path)
    if urls:
        monitoring = config.monitoring.model_copy(update=dict(urls))
        config = config.model_copy(update={"monitoring": monitoring})
    settings = settings_from_config(config, str(config_path))
    # The answers the last promotion wrote stay (a re-render never undoes a promotion).
    golden = probes_from_config(config.monitoring.golden, read_expected(out.resolve()))
    context = stack_context(settings, config_path.name, golden)
    out = out.resolve()
    try:
        tree = render_tree(
            TEMPLATE_DIR,
            {"_stack": context, "stack_dir": "stack"},
            out.parent,
            name=out.name,
            dry_run=dry_run,
            may_replace=_replaceable,
        )
    except TemplateError as exc:
        raise MlharnessError(
            f"rendering {TEMPLATE_DIR} failed: {exc.__cause__}", hint="a bug in the template"
        ) from exc
    return StackFiles(
        config=str(config_path),
        out=str(out),
        files=tree.files,
        digest=tree.digest,
        changed=not tree.same,
        dry_run=dry_run,
        alerts=[a.name for a in alerts_for(settings)],
    )

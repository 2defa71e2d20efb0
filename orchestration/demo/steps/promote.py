"""Step 2: register the best trial's model and offer it to the alias through the gates."""

from __future__ import annotations

from orchestration.demo.context import DemoContext, NotReached, Outcome, Step, Table

__all__ = ["STEP"]


def run(ctx: DemoContext) -> Outcome:
    run_id = ctx.state.best_run_id
    if run_id is None:
        raise NotReached("no best trial to register (step 1 failed)")
    from harness.store.registry import Registry
    from registry_tools import versions
    from registry_tools.promote import PromotionRequest, promote

    registry = Registry(ctx.tracking_uri)
    registered = versions.register(registry, run_id, ctx.model)
    assert registered.version is not None
    version = registered.version.version
    request = PromotionRequest(ctx.model, ctx.alias, list(ctx.gates), version=version)
    outcome = promote(registry, request)
    champion = registry.holder(ctx.model, ctx.alias)
    ctx.state.champion_version = champion
    gates = Table(
        f"gates for {ctx.model} v{version} -> {ctx.alias}",
        ("gate", "candidate", "reference", "passed"),
        tuple(
            (
                r.gate,
                f"{r.candidate:.4f}",
                "-" if r.reference is None else f"{r.reference:.4f}",
                "yes" if r.passed else "no",
            )
            for r in outcome.plan.results
        ),
    )
    refusal = outcome.refusal()
    if refusal is not None:
        moved = f"refused (exit code {int(refusal.exit_code)}): {refusal.message}"
    elif outcome.applied:
        moved = f"{ctx.alias}: {outcome.plan.current or 'unset'} -> v{version}"
    else:
        moved = f"v{version} already is {ctx.alias}"
    return Outcome(
        refusal is None,
        f"run {run_id[:8]} registered as {ctx.model} v{version} "
        f"({'new' if registered.created else 'existing'}); {moved}",
        details={
            "model": ctx.model,
            "run_id": run_id,
            "version": version,
            "created": registered.created,
            "applied": outcome.applied,
            "gates": [r.gate for r in outcome.plan.results],
            "gates_passed": outcome.plan.passed,
            "champion": champion,
        },
        tables=(gates,),
    )


STEP = Step("promote", "2. register the best trial, gated promotion to champion", run)

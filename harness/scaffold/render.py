"""Text output of ``mlharness new`` (presentation only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from harness.scaffold.project_template import Created

__all__ = ["created"]


def created(console: Console, result: Created) -> None:
    """What ``new`` made (or would make, listing the files), and the next command."""
    verb = "Would create" if result.dry_run else "Replaced" if result.replaced else "Created"
    console.print(
        f"{verb} [bold]{result.project_dir}[/bold] ({len(result.files)} files) "
        f"from {result.template}"
    )
    if result.dry_run:
        for name in result.files:
            console.print(f"  {name}", highlight=False)
        return
    console.print(f"Next: cd {result.project_dir} && mlflow run . --env-manager local")

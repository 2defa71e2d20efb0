"""Operations: what each command does, as typed functions that return typed results.

A ``cli.py`` parses options, calls one operation and renders its result; the demo, DAG
tasks, the sweep, the scoring server and the tests call the same functions. Operations
never print and never import typer or rich (``make lint`` enforces it).
"""

__all__: list[str] = []

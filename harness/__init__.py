"""mlharness's base package: what every other package shares, the run features, and the
root ``mlharness`` command.

Shared rooms: ``kernel`` (errors, exit codes, atomic writes, digests; standard library
only), ``store`` (the MLflow boundary), ``schemas`` (the manifest and pipeline config
models), ``templating`` (the one atomic cookiecutter renderer). Feature rooms: ``run``,
``sweep``, ``scaffold`` (``mlharness new``) and ``config``. ``app`` mounts every package's
commands.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"

"""``mlharness sweep``: parallel, resumable hyperparameter sweeps over the run operation.

``space`` parses ``-P`` specs, ``definition`` is what the parent run stores, ``executors``
runs trials in processes (local pool or Dask), ``optimize`` drives Optuna, ``engine`` is the
operation, and ``cli`` the command.
"""

__all__: list[str] = []

"""A sweep target that logs one shared dataset, as every project's training entry point does.

Every trial logs the same table, so the first trials of a sweep on a fresh experiment log
the same new dataset at the same moment: the ``log_input`` race. It logs through the
projects' own helper (``concurrent_logging.log_input``, loaded from projects/rf), so a
sweep of this project is the projects' behaviour at a fraction of their cost.
"""

import argparse
import atexit
import importlib.util
import os
import sys
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas

HELPER = Path(__file__).resolve().parents[4] / "projects/rf/rf_project/concurrent_logging.py"

parser = argparse.ArgumentParser()
parser.add_argument("--trial", type=int)
args = parser.parse_args()

spec = importlib.util.spec_from_file_location("concurrent_logging", HELPER)
assert spec is not None and spec.loader is not None
helper = importlib.util.module_from_spec(spec)
spec.loader.exec_module(helper)

table = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "target": [0.0, 1.0, 0.0, 1.0]})
with mlflow.start_run():
    helper.log_input(from_pandas(table, name="shared", targets="target"), context="training")
    mlflow.log_metric("score", float(args.trial))

# The run has ended (the with block above). Run the exit handlers, then end the process
# without the interpreter's teardown of MLflow, pandas and SQLAlchemy: about 0.85 CPU-s a
# process (measured), paid by every trial of every sweep test for nothing.
atexit._run_exitfuncs()
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)

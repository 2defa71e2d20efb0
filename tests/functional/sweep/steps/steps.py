"""A fast sweep target: logs ``score`` once per step (x * (step + 1)), optionally fails.

``STEPS_DELAY`` (seconds per step, from the environment, so it is not a parameter and does
not change the cache key) slows it down for tests that interrupt a sweep mid-trial.
"""

import argparse
import atexit
import os
import sys
import time

import mlflow

parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float)
parser.add_argument("--y")
parser.add_argument("--steps", type=int)
parser.add_argument("--delay", type=float)
parser.add_argument("--fail")
args = parser.parse_args()

with mlflow.start_run():
    print(f"steps: x={args.x} y={args.y}", flush=True)
    if args.fail == "yes":
        print("steps: failing as asked", file=sys.stderr)
        sys.exit(3)
    for step in range(args.steps):
        time.sleep(args.delay + float(os.environ.get("STEPS_DELAY", "0")))
        mlflow.log_metric("score", args.x * (step + 1), step=step)
    mlflow.log_metric("loss", -args.x + (0.5 if args.y == "b" else 0.0))

# The run has ended (the with block above). Run the exit handlers, then end the process
# without the interpreter's teardown of MLflow, pandas and SQLAlchemy: about 0.85 CPU-s a
# process (measured), paid by every trial of every sweep test for nothing.
atexit._run_exitfuncs()
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)

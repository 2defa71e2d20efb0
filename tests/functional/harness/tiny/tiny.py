"""A tiny MLflow project: logs its arguments as an artifact and one metric."""

import argparse
import random

import mlflow

parser = argparse.ArgumentParser()
for name in ("--s", "--t", "--i", "--f", "--p"):
    parser.add_argument(name, default="")
parser.add_argument("--noisy", action="store_true")
args = parser.parse_args()

with mlflow.start_run():
    mlflow.log_text(repr(vars(args)), "echo.txt")
    mlflow.log_metric("value", random.random() if args.noisy else 1.0)

"""Training and logging for the ``main`` entry point (parameters already checked)."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import mlflow
import mlflow.sklearn
import yaml
from mlflow.models import infer_signature
from sklearn.ensemble import RandomForestClassifier

from rf_project import data, lineage, metrics, plots
from rf_project.seeding import seed_everything
from rf_project.skops_import import import_skops

PYTHON_ENV = Path(__file__).resolve().parent.parent / "python_env.yaml"

# The predicted class is an integer column; MLflow's hint about missing values in integer
# columns does not apply to a classifier's output.
warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")

# skops refuses to load a tree unless the type is trusted explicitly (see DESIGN.md).
SKOPS_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]


def pinned_requirements() -> list[str]:
    """The model's pip requirements: the project's own pins, not a guess from imports."""
    spec = yaml.safe_load(PYTHON_ENV.read_text())
    return [str(req) for req in spec["dependencies"]]


def log_missing_params(run_id: str, params: dict[str, object]) -> None:
    """Log the parameters the run does not have yet.

    ``mlflow run`` has already logged each ``-P`` value as typed (``test_size=.25``);
    logging the parsed value (``0.25``) again would be refused as a change. A run started
    without ``mlflow run`` (``python -m rf_project.train``) logs them all here.
    """
    logged = mlflow.get_run(run_id).data.params
    mlflow.log_params({name: value for name, value in params.items() if name not in logged})


def train_and_log(args: argparse.Namespace) -> str:
    """Train, evaluate on the held-out split, log to MLflow; returns the run id."""
    seed_everything(args.random_state)

    frame = data.load_frame()
    train, test = data.split(frame, args.test_size, args.random_state)
    x_train, y_train = data.features_and_target(train)
    x_test, y_test = data.features_and_target(test)

    with mlflow.start_run() as run:
        log_missing_params(
            run.info.run_id,
            {
                "n_estimators": args.n_estimators,
                "max_depth": "none" if args.max_depth is None else args.max_depth,
                "min_samples_leaf": args.min_samples_leaf,
                "test_size": args.test_size,
                "random_state": args.random_state,
            },
        )
        lineage.log_frame(train, "breast_cancer_train", "training", data.TARGET)
        lineage.log_frame(test, "breast_cancer_test", "testing", data.TARGET)

        model = RandomForestClassifier(
            n_estimators=args.n_estimators,
            max_depth=args.max_depth,
            min_samples_leaf=args.min_samples_leaf,
            random_state=args.random_state,
            n_jobs=1,  # thread scheduling must not change the result
        )
        model.fit(x_train, y_train)

        proba = model.predict_proba(x_test)[:, 1]
        scores = metrics.classification_metrics(y_test.to_numpy(), proba)
        mlflow.log_metrics(scores)

        predicted = (proba >= 0.5).astype(int)
        mlflow.log_figure(
            plots.confusion_matrix_figure(y_test.to_numpy(), predicted),
            "plots/confusion_matrix.png",
        )
        mlflow.log_figure(
            plots.feature_importance_figure(list(x_train.columns), model.feature_importances_),
            "plots/feature_importance.png",
        )
        # The held-out split, so `evaluate` can be run on exactly the data scored here.
        mlflow.log_text(test.to_csv(index=False), "data/test.csv")

        example = x_train.head(5)
        import_skops()
        logged = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(example, model.predict(example)),
            input_example=example,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            pip_requirements=pinned_requirements(),
        )
        # The model is handed on by its MLflow 3 URI, models:/m-<id>.
        print(
            f"run_id={run.info.run_id} model_uri={logged.model_uri} "
            + " ".join(f"{k}={v:.4f}" for k, v in scores.items())
        )
        return run.info.run_id

"""Unit tests for projects/torch_mlp's own code: parameters, data split, network, metrics."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
import pytest
import torch
import yaml

from tests.support.param_checks import assert_rejected
from tests.support.paths import PROJECTS

PROJECT = PROJECTS / "torch_mlp"
sys.path.insert(0, str(PROJECT))

from torch_mlp_project import data, metrics, network, params  # noqa: E402
from torch_mlp_project.seeding import make_deterministic  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_torch_globals() -> Iterator[None]:
    """make_deterministic changes process-wide torch settings; other tests share the worker."""
    deterministic, threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    yield
    torch.use_deterministic_algorithms(deterministic)
    torch.set_num_threads(threads)


def test_parameters_and_defaults_match_mlproject() -> None:
    spec = yaml.safe_load((PROJECT / "MLproject").read_text())["entry_points"]
    main = spec["main"]["parameters"]
    assert list(main) == list(params.TRAIN)
    assert {k: v["default"] for k, v in main.items()} == params.parse([], params.TRAIN)
    assert list(spec["evaluate"]["parameters"]) == list(params.EVALUATE)


def test_parse_converts_types() -> None:
    parsed = params.parse(["--lr", "1e-2", "--epochs", "3", "--seed", "0"], params.TRAIN)
    assert parsed["lr"] == 0.01 and parsed["epochs"] == 3 and parsed["seed"] == 0


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--foo", "1"], "unknown parameter foo; accepted parameters: hidden_units, epochs, lr"),
        (
            ["--epochs", "2.5"],
            "parameter epochs: '2.5' is not accepted; accepted: integers 1..10000",
        ),
        (["--epochs", "0"], "parameter epochs: 0 is out of range; accepted: integers 1..10000"),
        (["--lr", "0"], "parameter lr: 0.0 is out of range; accepted: numbers with 0 < lr <= 10"),
        (["--lr", "nan"], "parameter lr: nan is out of range"),
        (["--lr", "x"], "parameter lr: 'x' is not accepted"),
        (
            ["--batch_size", "-1"],
            "parameter batch_size: -1 is out of range; accepted: integers >= 1",
        ),
        (["--hidden_units"], "parameter hidden_units: no value; accepted: integers 1..4096"),
    ],
)
def test_bad_input_is_one_line_naming_the_parameter(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_rejected(lambda: params.parse(argv, params.TRAIN), needle, capsys)


def test_evaluate_requires_its_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        params.parse(["--data", "x.csv"], params.EVALUATE)
    assert "parameter model_uri: missing; accepted: a model URI" in capsys.readouterr().err


def test_split_is_seeded_stratified_and_disjoint() -> None:
    frame = data.load_frame()
    a, b, c = data.split(frame, 7), data.split(frame, 7), data.split(frame, 8)
    assert all(x.equals(y) for x, y in zip(a, b, strict=True))
    assert not a.test.equals(c.test)
    assert sum(len(part) for part in a) == len(frame)
    assert len(a.test) == pytest.approx(data.TEST_FRACTION * len(frame), abs=1)
    for part in a:
        assert part[data.TARGET].mean() == pytest.approx(frame[data.TARGET].mean(), abs=0.03)
    features, target = data.xy(a.train)
    assert features.shape[1] == 30 and set(np.unique(target)) == {0, 1}
    assert (features.dtypes == "float32").all()


def test_xy_rejects_a_frame_without_target() -> None:
    with pytest.raises(ValueError, match="no 'target' column"):
        data.xy(data.load_frame().drop(columns=[data.TARGET]))


def test_standardizer_scales_training_rows_and_is_frozen() -> None:
    features, _ = data.xy(data.split(data.load_frame(), 0).train)
    layer = network.standardizer(features)
    scaled = layer(torch.tensor(features.to_numpy())).detach()
    assert scaled.mean(dim=0).abs().max() < 1e-4
    assert (scaled.std(dim=0) - 1).abs().max() < 1e-3
    assert not any(p.requires_grad for p in layer.parameters())


def _train_twice(seed_a: int, seed_b: int) -> tuple[list[dict[str, float]], ...]:
    splits = data.split(data.load_frame(), 0)
    histories = []
    for seed in (seed_a, seed_b):
        generator = make_deterministic(seed)
        net = network.build(data.xy(splits.train)[0], hidden_units=8)
        history = network.fit(
            net,
            data.xy(splits.train),
            data.xy(splits.val),
            epochs=3,
            lr=0.01,
            batch_size=16,
            generator=generator,
        )
        histories.append(history)
    return tuple(histories)


def test_training_is_repeatable_bit_for_bit_and_seed_dependent() -> None:
    same_a, same_b = _train_twice(3, 3)
    assert same_a == same_b
    assert len(same_a) == 3 and same_a[-1]["train_loss"] < same_a[0]["train_loss"]
    other_a, other_b = _train_twice(3, 4)
    assert other_a != other_b


def test_with_probability_gives_probabilities_for_raw_features() -> None:
    splits = data.split(data.load_frame(), 0)
    features, _ = data.xy(splits.test)
    make_deterministic(0)
    model = network.with_probability(network.build(features, hidden_units=4))
    proba = network.predict_proba(model, features)
    assert proba.shape == (len(features),)
    assert ((proba >= 0) & (proba <= 1)).all()


def test_metrics_perfect_and_known_values() -> None:
    y = np.array([0, 0, 1, 1])
    perfect = metrics.scores(y, np.array([0.0, 0.1, 0.9, 1.0]))
    assert perfect["accuracy"] == perfect["f1"] == perfect["roc_auc"] == 1.0
    half = metrics.scores(y, np.array([[0.5], [0.5], [0.5], [0.5]]))
    assert half["log_loss"] == pytest.approx(np.log(2))
    assert half["roc_auc"] == 0.5 and half["accuracy"] == 0.5

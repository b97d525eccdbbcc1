"""The shipped answer scorer: a file the code can trust, and in step with the settings."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from newsdesk.service.query.scoring import FEATURES, ScoringModel, default_model

from tests.conftest import DEFAULTS


def _model_json(**changes: object) -> str:
    data = json.loads(default_model().to_json()) | changes
    return json.dumps(data)


def test_the_shipped_model_names_the_features_the_code_computes() -> None:
    model = default_model()
    assert len(model.weights) == len(FEATURES) and all(math.isfinite(w) for w in model.weights)
    assert ScoringModel.from_json(model.to_json()) == model


def test_the_abstention_default_is_the_fitted_threshold() -> None:
    # NEWSDESK_ABSTAIN_BELOW's default is the threshold bench/fit_scorer.py set on held-out folds.
    assert DEFAULTS.abstain_below == default_model().threshold


@pytest.mark.parametrize("change, message", [
    ({"features": list(reversed(FEATURES))}, "refit"),
    ({"weights": [float("nan")] * len(FEATURES)}, "finite"),
    ({"weights": [0.0]}, "one finite weight per feature"),
    ({"link": "probit"}, "link"),
])
def test_a_model_that_does_not_fit_the_code_is_refused(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScoringModel.from_json(_model_json(**change))


def test_a_logistic_model_scores_as_probabilities_in_feature_order() -> None:
    weights = tuple(1.0 if name == "dense" else 0.0 for name in FEATURES)
    model = ScoringModel(weights, 0.0, "logistic", threshold=0.5, second_unit_ratio=0.9)
    rows = np.zeros((2, len(FEATURES)))
    rows[0, FEATURES.index("dense")] = 3.0
    scores = model.score(rows)
    assert 0.5 < scores[0] < 1.0 and scores[1] == pytest.approx(0.5)

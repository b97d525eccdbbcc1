"""The answer scorer: how well a candidate sentence (or pair) states the answer.

Each candidate is described by general signals (:data:`FEATURES`), never by rules for
listed questions, and a linear model weighs them: ``score = weights · x + bias``, read as
a probability through the logistic function when the model was fitted as a logistic
regression (``link: logistic``, ``bench/fit_scorer.py``: XQuAD and RealTime QA development
weeks, cross-validated in folds grouped by source article or week), or used as it is
(``link: identity``). The weights ship as ``scorer.json`` beside this module with the
features' names, so a model and the code that computes its features cannot drift apart
silently: loading checks the names.

The shipped model is still the hand-set one of session 2 (0.5 dense + 0.5 coverage, +0.1
for a passive agent, -0.05 for a pair; ``NEWSDESK_ABSTAIN_BELOW`` 0.35 calibrated for it):
a fitted model replaces it once it beats it on held-out folds of every development set.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

__all__ = ["FEATURES", "LINKS", "ScoringModel", "default_model"]

FEATURES = (
    "dense",          # cosine of the question and the sentence's in-context vector (the better one of a pair)
    "coverage",       # IDF-weighted share of the question's content words the unit contains
    "passage_score",  # the passage's fused retrieval score (0..1 for convex fusion)
    "passage_rank",   # 1 / rank of the passage among those read
    "factoid",        # the question asks for an entity type (who, where, when, how many, which country...)
    "type_match",     # the unit holds an entity of that type that the question does not already name
    "agent",          # a "who <verb>" question meets "<verb> by <Name>" in the unit
    "age",            # log(1 + days between publication and the moment asked); 0 when undated
    "present_age",    # the same, for questions about the present only (the recency prior)
    "undated",        # the article states no date
    "position",       # log(1 + the sentence's index in its article): news leads with the facts
    "pair",           # two adjacent sentences rather than one
    "length",         # log(characters of the unit)
)


LINKS = ("identity", "logistic")


@dataclass(frozen=True)
class ScoringModel:
    """``score = link(weights · x + bias)`` over :data:`FEATURES`."""

    weights: tuple[float, ...]
    bias: float
    link: str = "logistic"
    fitted_on: str = ""

    def score(self, features: np.ndarray) -> np.ndarray:
        """One score per row of ``features`` (``[n, len(FEATURES)]``); higher is better."""
        linear = features @ np.asarray(self.weights) + self.bias
        if self.link == "identity":
            return linear
        return 1.0 / (1.0 + np.exp(-np.clip(linear, -30, 30)))

    def to_json(self) -> str:
        return json.dumps({"features": list(FEATURES), "weights": [round(w, 6) for w in self.weights],
                           "bias": round(self.bias, 6), "link": self.link, "fitted_on": self.fitted_on}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ScoringModel:
        data = json.loads(text)
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"scorer.json was fitted on features {data['features']}, the code computes {list(FEATURES)}: "
                             "refit it with bench/fit_scorer.py")
        if not all(math.isfinite(w) for w in data["weights"]) or len(data["weights"]) != len(FEATURES):
            raise ValueError("scorer.json needs one finite weight per feature")
        if data["link"] not in LINKS:
            raise ValueError(f"scorer.json link {data['link']!r}: choose one of {', '.join(LINKS)}")
        return cls(tuple(float(w) for w in data["weights"]), float(data["bias"]), data["link"], data.get("fitted_on", ""))


@lru_cache(maxsize=1)
def default_model() -> ScoringModel:
    """The model shipped with this release (``service/query/scorer.json``)."""
    return ScoringModel.from_json((resources.files(__package__) / "scorer.json").read_text(encoding="utf-8"))

"""The answer scorer: how well a candidate sentence (or pair) states the answer.

Each candidate is described by general signals (:data:`FEATURES`), never by rules for
listed questions, and a linear model weighs them: ``score = weights · x + bias``, read as
a probability through the logistic function when the model was fitted as a logistic
regression (``link: logistic``, ``bench/fit_scorer.py``: XQuAD and RealTime QA development
weeks, cross-validated in folds grouped by source article or week), or used as it is
(``link: identity``). The weights ship as ``scorer.json`` beside this module with the
features' names, so a model and the code that computes its features cannot drift apart
silently: loading checks the names.

The shipped model is a logistic regression fitted by ``bench/fit_scorer.py`` on XQuAD (1,190
questions, 48 articles) and 20 RealTime QA development weeks (550 questions), in 5 folds
grouped by article or week: held out, its best candidate holds the answer for 0.891 of
XQuAD questions and 0.276 of RealTime QA ones, against 0.858 and 0.220 for the hand-set
weights it replaced. It is fitted on the candidates of every question asked both with and
without its own source, so its score is a probability that also says whether the archive
answers at all; the abstention threshold and the second-unit ratio are set beside it on the
held-out folds (docs/benchmarks.md, "The answer scorer").
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
    "age",            # log(1 + days from publication to the moment asked), minus the freshest dated candidate's; 0 undated
    "present_age",    # the same, for questions about the present only (the recency prior)
    "undated",        # the article states no date
    "position",       # log(1 + the sentence's index in its article): news leads with the facts
    "pair",           # two adjacent sentences rather than one
    "length",         # log(characters of the unit)
    "dense_gap",      # dense minus the best dense of this question's candidates (0 for the best)
    "coverage_gap",   # coverage minus the best coverage of this question's candidates
    "asks",           # a sentence of the unit is itself a question (a quiz, a rhetorical question)
    "novelty",        # share of the unit's content words the question does not use: an answer adds something
    "new_entity",     # the unit holds a named entity, number or date the question does not name
)


LINKS = ("identity", "logistic")


@dataclass(frozen=True)
class ScoringModel:
    """``score = link(weights · x + bias)`` over :data:`FEATURES`, with the two decisions fitted beside
    the weights: the abstention threshold and the second-unit ratio."""

    weights: tuple[float, ...]
    bias: float
    link: str
    threshold: float  # abstain under this best score: ``NEWSDESK_ABSTAIN_BELOW``'s default (a test keeps them equal)
    second_unit_ratio: float  # cite a second unit when it scores at least this share of the best
    fitted_on: str = ""

    def score(self, features: np.ndarray) -> np.ndarray:
        """One score per row of ``features`` (``[n, len(FEATURES)]``); higher is better."""
        linear = features @ np.asarray(self.weights) + self.bias
        if self.link == "identity":
            return linear
        return 1.0 / (1.0 + np.exp(-np.clip(linear, -30, 30)))

    def to_json(self) -> str:
        return json.dumps({"features": list(FEATURES), "weights": [round(w, 6) for w in self.weights],
                           "bias": round(self.bias, 6), "link": self.link, "threshold": self.threshold,
                           "second_unit_ratio": self.second_unit_ratio, "fitted_on": self.fitted_on}, indent=2) + "\n"

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
        return cls(tuple(float(w) for w in data["weights"]), float(data["bias"]), data["link"], float(data["threshold"]),
                   float(data["second_unit_ratio"]), data.get("fitted_on", ""))


@lru_cache(maxsize=1)
def default_model() -> ScoringModel:
    """The model shipped with this release (``service/query/scorer.json``)."""
    return ScoringModel.from_json((resources.files(__package__) / "scorer.json").read_text(encoding="utf-8"))

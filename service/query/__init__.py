"""The query pipeline: follow-up → filters → retrievers → fusion → collapse → answerers → verify.

Each stage is a small Haystack component in its own module; :mod:`.pipeline` wires them.
"""

from .pipeline import QueryPipeline, Retrieved, retrieve

__all__ = ["QueryPipeline", "Retrieved", "retrieve"]

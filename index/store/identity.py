"""What every store is, whichever its engine: its life cycle (a context manager over its ``db``), and what it
records about itself once and keeps: the embedding model it was built with, and how wide its stored vectors
are. Shared by the SQLite store and the PostgreSQL store (both ``db`` objects offer ``writer``, ``closed``,
``close``, ``meta``, ``set_meta``, ``transaction`` and ``query``)."""

from __future__ import annotations

from typing import Any, Self

from ..embed import same_model
from ..errors import IndexIncompatible

__all__ = ["VECTOR_STORAGES", "StoreIdentity"]

VECTOR_STORAGES = ("float16", "float32")


class StoreIdentity:
    """A store's life cycle, and the model and vector-storage checks it runs when it opens."""

    db: Any
    model_name: str
    dim: int

    @property
    def writer(self) -> bool:
        return self.db.writer

    @property
    def closed(self) -> bool:
        return self.db.closed

    def close(self) -> None:
        """Release the connection (and a writer's lock)."""
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_model(self) -> None:
        stored = self.db.meta("embedding_model")
        if stored is None and self.db.writer and self.model_name:
            with self.db.transaction():
                self.db.set_meta("embedding_model", self.model_name)
                self.db.set_meta("embedding_dim", str(self.dim))
        elif stored and self.model_name and stored != self.model_name:
            if not same_model(stored, self.model_name):
                raise IndexIncompatible(f"index was built with embedding model {stored!r}, not {self.model_name!r}; "
                                        "rebuild it in a new data directory")
            self.model_name = stored  # the same model at another precision: the index keeps the one it was built with

    def _vector_storage(self, wanted: str) -> str:
        """How this index stores its vectors: ``wanted`` for a new index, ``float32`` for one from before the
        choice existed; recorded once (``meta.vector_storage``) and kept, so one index never mixes the two."""
        if wanted not in VECTOR_STORAGES:
            raise ValueError(f"unknown vector storage {wanted!r}; choose one of {', '.join(VECTOR_STORAGES)}")
        stored = self.db.meta("vector_storage")
        if stored is None:
            stored = "float32" if self.db.query("SELECT 1 FROM chunks LIMIT 1") else wanted
            if self.db.writer:
                with self.db.transaction():
                    self.db.set_meta("vector_storage", stored)
        return stored


"""The index's own exceptions: callers never see a raw sqlite3, psycopg, FAISS or Ray error."""


class IndexError_(Exception):
    """Base class of every error raised by ``newsdesk.index``."""


class IndexNotBuilt(IndexError_):
    """No index exists in the data directory yet."""


class IndexLocked(IndexError_):
    """Another process is writing to this index."""


class IndexIncompatible(IndexError_):
    """The index was built by another schema version or another embedding model."""


class StoreError(IndexError_):
    """The database failed underneath; the message says what was being done."""


class IndexDamaged(StoreError):
    """The database file is corrupt (a damaged page, or not SQLite at all): no retry heals it; restore or rebuild it."""


class ClusterUnavailable(IndexError_):
    """The Ray cluster an ingest was told to embed on cannot be used (not installed, not reachable, a task failed)."""

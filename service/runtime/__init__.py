"""The long-lived parts of a running service: the engine (index + pipeline, :mod:`.engine`), conversations
(:mod:`.conversations`), API keys (:mod:`.keys`). Import each from its module: the engine brings in Haystack
and the model, which ``newsdesk keys`` and the start of ``newsdesk serve`` must not pay for."""

__all__: list[str] = []  # a namespace of modules: engine, conversations, jobs, keys, shared_tables, writer

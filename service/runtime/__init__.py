"""The long-lived parts of a running service: the engine (index + pipeline) and conversations."""

from .conversations import ConversationStore
from .engine import Conversation, Engine, Reply, index_unavailable

__all__ = ["Conversation", "ConversationStore", "Engine", "Reply", "index_unavailable"]

"""Newsdesk's indexing side: raw articles to a searchable, persistent, crash-safe index.

``index`` never imports ``service``; data flows one way, article → clean → chunk → embed → store.
"""

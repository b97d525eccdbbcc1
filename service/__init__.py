"""Newsdesk's answering side: configuration, retrieval, the command line (and soon the HTTP service)."""

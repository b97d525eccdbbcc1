"""Newsdesk's answering side, in layers (lower layers never import upper ones):

* :mod:`.config`, :mod:`.errors`, :mod:`.domain`: settings, exceptions, the typed records;
* :mod:`.query`: the query pipeline (follow-up → retrieve → answer → verify);
* :mod:`.runtime`: the engine (index + pipeline per process) and conversations;
* :mod:`.http`: the Flask app, its blueprints and the widget;
* :mod:`.cli`, :mod:`.serve`, :mod:`.evaluation`: the ``newsdesk`` command, gunicorn, evaluation sets.
"""

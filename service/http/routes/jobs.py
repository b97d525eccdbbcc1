"""GET /jobs/<id>: the progress and, once done, the report of a background write (a large POST /articles)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, url_for

from ...errors import NotFound
from ...runtime.keys import has_scope
from ..auth import current_key, requires
from ..writes import get_writes

__all__ = ["bp"]

bp = Blueprint("jobs", __name__)


@bp.get("/jobs/<job_id>")
@requires("write")
def job(job_id: str) -> Response:
    """A job is shown to the key that started it, and to admin keys; to any other it does not exist."""
    found = get_writes().jobs.get(job_id)
    key = current_key()
    if found is None or key is None or not (found.key_id == key.id or has_scope(key.scope, "admin")):
        raise NotFound(f"no job with id {job_id!r}")
    return jsonify({**found.to_dict(), "url": url_for("jobs.job", job_id=found.id)})

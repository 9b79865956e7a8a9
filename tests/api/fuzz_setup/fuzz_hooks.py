"""Schemathesis hooks for tests/api/test_fuzz_api.py (SCHEMATHESIS_HOOKS=fuzz_hooks): the
project's own check beside schemathesis's, that every refusal of an API route is in the one
error format (``{"error": {"code": ..., "message": ...}}``)."""

from __future__ import annotations

import json

import schemathesis


@schemathesis.check
def error_format(ctx, response, case):
    """A 4xx/5xx answer of an /api/ route carries a code and a sentence (docs/api.md, "Errors")."""
    if response.status_code < 400 or not case.path.startswith("/api/"):
        return None
    try:
        error = json.loads(response.text).get("error", {})
    except (ValueError, AttributeError):
        error = {}
    if not (isinstance(error, dict) and error.get("code") and error.get("message")):
        raise AssertionError(f"not the error format: {response.text[:300]}")
    return None

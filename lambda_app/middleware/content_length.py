"""A declared Content-Length against a body limit: the body limit's first rule (refused before
the body is read), applied the same way by the Lambda light path (lambda_app.gateway)."""

from __future__ import annotations


def declared_over(declared: bytes | str | None, limit: int) -> bool:
    """A Content-Length over the limit, or one that is not a number at all."""
    if declared is None:
        return False
    return not declared.isdigit() or int(declared) > limit

"""API keys compared without a web framework: the route's dependency, the fast path and the
Lambda light path (lambda_app.gateway) all decide with this one function."""

from __future__ import annotations

import hmac
from collections.abc import Sequence


def key_matches(keys: Sequence[bytes], supplied: bytes) -> bool:
    """True when no keys are set or `supplied` is one of them. Every key is compared, in
    constant time, so timing tells nothing about which matched."""
    matched = not keys
    for k in keys:
        matched |= hmac.compare_digest(supplied, k)
    return matched

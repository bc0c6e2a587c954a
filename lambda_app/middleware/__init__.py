"""ASGI middleware: body limit, body deadline, root path, request context and the single-score fast path."""

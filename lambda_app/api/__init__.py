"""The JSON API over the scoring service: routes, response bodies, problem documents, API keys."""

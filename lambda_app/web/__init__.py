"""The loan officer's web pages: forms, uploads, charts and templates over the scoring service."""

"""The HTTP API and search page behind ``rag serve`` (needs the ``serve`` extra)."""

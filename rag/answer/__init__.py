"""Cited answers: extractive, or from an OpenAI-compatible LLM, with citations checked."""

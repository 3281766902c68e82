"""Text helpers every layer shares: normalisation, sentences, displayed paths and URLs."""

"""Search one index version: the question understood once, ranking, time windows, recency,
the no-answer decision and the timeline."""

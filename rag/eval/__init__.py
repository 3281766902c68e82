"""Quality measurements: retrieval (SQuAD-style sets, news question sets) and answers."""

"""Helpers the tests of both tiers import (pytest puts ``tests/`` on ``sys.path``)."""

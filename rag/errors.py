"""The project's exception hierarchy. The CLI catches ``RagError`` once and prints one line."""


class RagError(Exception):
    """An expected problem the user can fix; its message says what to do."""


class ConfigError(RagError):
    """A settings file, environment variable or flag is invalid."""


class IngestError(RagError):
    """A source could not be read or turned into an article."""


class NothingToIndexError(RagError):
    """A build or update found no readable article, or was given a path that names nothing."""


class RemovalRefusedError(RagError):
    """An update would drop a missing source folder or most articles; needs allow_removals."""


class IndexMissingError(RagError):
    """No index exists at the requested location."""


class IndexCorruptError(RagError):
    """An index exists but cannot be read (damaged, or written by a newer version)."""


class EmbedderMismatchError(RagError):
    """The index was built with a different embedding model than the one asked for."""


class IndexWriteError(RagError):
    """The index folder cannot be created or written (a file in the way, no permission)."""


class IndexLockedError(RagError):
    """Another process is writing the index."""


class LLMError(RagError):
    """The LLM endpoint failed, timed out or answered with something unusable."""


class MissingDependencyError(RagError):
    """An optional dependency is not installed; the message names the extra to install."""


class FeedError(RagError):
    """A feed subscription cannot be added, found or pulled (a bad URL, a pull running)."""


class ClusterError(RagError):
    """A compute cluster (Ray) cannot be reached, or its job failed; nothing was written."""

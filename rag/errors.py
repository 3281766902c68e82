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


class WatchError(RagError):
    """A watched question cannot be added, found or checked (a taken name, a check running)."""


class WatchNotFoundError(WatchError):
    """No watch has the name asked for."""


class ClusterError(RagError):
    """A compute cluster (Ray) cannot be reached, or its job failed; nothing was written."""


def write_failure(
    exc: BaseException, folder: object, what: str, setting: str = "index_dir"
) -> IndexWriteError | None:
    """``exc`` raised while writing ``what`` into ``folder`` as one line that says what to
    do (free space, check permissions), or None when it is not a failure to write.

    The same full disk reaches us as ``OSError(ENOSPC)``, SQLite's "database or disk is
    full" or FAISS's "N requested and M written"; a read-only or foreign folder as
    ``EACCES``/``EROFS`` or SQLite's "readonly database".
    """
    import errno
    import sqlite3

    text = str(exc).lower()
    full = (
        (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG))
        or (isinstance(exc, sqlite3.Error) and ("disk is full" in text or "too large" in text))
        or (
            isinstance(exc, OSError | RuntimeError)
            and "requested and" in text
            and "written" in text
        )
    )
    if full:
        return IndexWriteError(
            f"cannot write {what}: no space left on the device of {folder}; free space "
            f"there (or set {setting} to a folder on another disk) and run again"
        )
    denied = (
        isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
    ) or (isinstance(exc, sqlite3.Error) and ("readonly" in text or "unable to open" in text))
    if denied:
        return IndexWriteError(
            f"cannot write {what}: {folder} is read-only or not yours; check the "
            f"permissions of that folder (or set {setting} to another one)"
        )
    return None

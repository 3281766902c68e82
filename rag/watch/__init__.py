"""Watched questions: saved questions asked again after each update, reporting only the
articles a watch has not shown yet (``rag watch``, the Atom feeds, ``watch_check``).

``rag.watch.store`` keeps the watches beside the index's feed state; ``rag.watch.check``
says what is new (and why "new" means an id or text hash not yet accounted for).
``Archive.watches()`` returns a ``Watches`` over one index, given the two things only
the archive can do: read every article's state and find a question's stories.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

from rag.errors import WatchError
from rag.records import Watch, WatchDigest
from rag.watch.check import ArticleState, FindStories, baseline, new_items, unseen
from rag.watch.store import WatchStore, check_lock, check_name, name_for, now, store_path

__all__ = ["Watches"]


class Watches:
    """The watches of one index: add, list, remove, check, and what each showed last."""

    def __init__(
        self,
        index_dir: Path,
        states: Callable[[], tuple[str, Mapping[str, ArticleState]]],
        find: FindStories,
    ) -> None:
        self.index_dir = Path(index_dir)
        self._states = states  # () → (version, article id → state)
        self._find = find

    def add(
        self,
        question: str,
        *,
        name: str | None = None,
        since: date | None = None,
        source: str | None = None,
    ) -> Watch:
        """Save ``question``; the articles in the archive now (or published before
        ``since``) count as shown."""
        question = " ".join(question.split())
        if not question:
            raise WatchError("the question is empty; say what to watch")
        name = check_name(name if name is not None else name_for(question))
        _, states = self._states()
        watch = Watch(name, question, now(), source=source or None, since=since)
        with WatchStore(store_path(self.index_dir)) as store:
            return store.add(watch, baseline(states, since))

    def list(self) -> tuple[Watch, ...]:
        with WatchStore(store_path(self.index_dir), create=False) as store:
            return tuple(store.watches())

    def remove(self, name: str) -> Watch:
        with WatchStore(store_path(self.index_dir), create=False) as store:
            return store.remove(name)

    def check(self, name: str | None = None) -> tuple[WatchDigest, ...]:
        """Check one watch (or every one, oldest first): the new relevant stories each
        has not shown yet, newest first, recorded as shown."""
        path = store_path(self.index_dir)
        if name is None and not path.is_file():
            return ()
        with check_lock(self.index_dir), WatchStore(path) as store:
            watches = [store.watch(name)] if name is not None else store.watches()
            if not watches:
                return ()
            version, states = self._states()
            digests = []
            for watch in watches:
                checked_at = now()
                new = unseen(states, store.known(watch.name))
                found = new_items(watch.question, watch.source, new, self._find, checked_at)
                seen = {aid: state[0] for aid, state in new.items()}
                claimed = store.claim(watch.name, found, seen, checked_at)
                digests.append(WatchDigest(store.watch(watch.name), claimed, checked_at, version))
            return tuple(digests)

    def latest(self, name: str, limit: int = 50) -> WatchDigest:
        """What the watch reported last (its last ``limit`` items, most recent first),
        without checking."""
        with WatchStore(store_path(self.index_dir), create=False) as store:
            watch = store.watch(name)
            items = tuple(store.shown(name, limit))
        return WatchDigest(watch, items, watch.last_checked)

    def latest_each(self, limit: int = 50) -> tuple[WatchDigest, ...]:
        """What every watch reported last (as ``latest``), oldest watch first, without
        checking: nothing is marked as shown."""
        with WatchStore(store_path(self.index_dir), create=False) as store:
            return tuple(
                WatchDigest(watch, tuple(store.shown(watch.name, limit)), watch.last_checked)
                for watch in store.watches()
            )

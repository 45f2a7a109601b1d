"""Facts about the change under review that need Git history, read once per run.

The engine opens them before any rule runs (:func:`open_history_facts`), and every rule
asks the same object: the freeze rule whether a target is a rollback, the history rules
about stints and digests. Nothing here is written by a rule, so the result of a run
does not depend on the order of its rules.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from releasegate.errors import GitError, InputError
from releasegate.history.classify import Assessment, Classifier, release_paths
from releasegate.history.git import Git, open_repo
from releasegate.history.query import History
from releasegate.layout import RepoLayout
from releasegate.policy import EnvironmentPolicy, PolicyPack
from releasegate.release import Release, parse_release


def open_history_facts(layout: RepoLayout, policy: PolicyPack, targets: Sequence[Release],
                       base: str | None, changed: bool) -> HistoryFacts | None:
    """The history of the changed models, for a change in a Git repository (None otherwise)."""
    if not changed or not targets:
        return None
    try:
        git = open_repo(layout.root)
    except GitError:
        return None
    return HistoryFacts(layout, policy, tuple(targets), base, git)


class HistoryFacts:
    """One targeted read of the history of the changed models, shared by the rules.

    The read starts at once in a background thread (git does the work in its own process),
    so that it overlaps the schema checks that run first; the first question waits for it.
    """

    def __init__(self, layout: RepoLayout, policy: PolicyPack, targets: tuple[Release, ...],
                 base: str | None, git: Git) -> None:
        self.policy = policy
        self.targets = targets
        self._git, self._base = git, base or "HEAD"
        self._classifier: Classifier | None = None
        self._failure: BaseException | None = None
        self._history: History | None = None
        self._reader = threading.Thread(target=self._read, args=(layout, base, git), name="releasegate-history",
                                        daemon=True)
        self._reader.start()

    def _read(self, layout: RepoLayout, base: str | None, git: Git) -> None:
        models = {r.file_model for r in self.targets}
        envs = set(self.policy.environment_names) | set(layout.environment_names()) | {r.env for r in self.targets}
        try:
            self._history = History.open(layout.root, base or "HEAD", git=git,
                                         paths=release_paths(models, envs), use_cache=False)
        except BaseException as e:  # noqa: BLE001 - handed to the rules' thread and re-raised there
            self._failure = e

    @property
    def classifier(self) -> Classifier:
        if self._classifier is None:
            self._reader.join()
            if self._failure is not None:
                raise self._failure
            assert self._history is not None  # set by _read when it did not fail
            self._classifier = Classifier(self._history)
        return self._classifier

    def base_release(self, release: Release) -> Release | None:
        """The same release file as the base commit has it (None when it does not exist there)."""
        data = self._git.blob_at(self._base, release.source)
        if data is None:
            return None
        try:
            return parse_release(data, release.source)
        except InputError:
            return None  # the base's file is broken: nothing there can be live

    def assess(self, release: Release) -> Assessment:
        return self.classifier.assess(release.env, release.file_model, release.version, release.document.content_id)

    def is_rollback(self, release: Release) -> bool:
        if release.version is None or not any(release.source == t.source for t in self.targets):
            return False
        return self.assess(release).rollback

    def promotions(self) -> Iterator[tuple[Release, Assessment, EnvironmentPolicy]]:
        """Targets that bring a new version into an environment of the policy."""
        for release in self.targets:
            env = self.policy.environment(release.env)
            if env is None or release.version is None:
                continue
            assessment = self.assess(release)
            if assessment.changes_version:
                yield release, assessment, env

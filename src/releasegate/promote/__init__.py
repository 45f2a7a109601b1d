"""``releasegate promote`` and ``releasegate rollback``: propose a release change as a pull request.

- :mod:`~releasegate.promote.proposal` plans a promotion or rollback and carries it out;
- :mod:`~releasegate.promote.edit` copies the model block into the target file, keeping its formatting;
- :mod:`~releasegate.promote.change` is the change itself (file, old and new bytes, description);
- :mod:`~releasegate.promote.branch` commits it onto a new branch and pushes it;
- :mod:`~releasegate.promote.pr` opens the pull request.

It reads the record through :mod:`releasegate.history`, which only reads.
"""

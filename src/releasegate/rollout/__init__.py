"""Canaries in steps: ``releasegate rollout advance|complete|abort``.

- :mod:`~releasegate.rollout.state` reads where a release stands (rolling, idle, a running canary
  at a step, aborted) from the release file alone, and what is wrong with its steps;
- :mod:`~releasegate.rollout.clock` reads from Git history when the current step landed;
- :mod:`~releasegate.rollout.decision` decides whether a canary may move on (hold, analysis, policy);
- :mod:`~releasegate.rollout.edit` writes the next step, the completion or the abort into the file;
- :mod:`~releasegate.rollout.plan` plans each command as a :class:`~releasegate.promote.change.ReleaseChange`,
  carried out by the promote machinery (branch, commit, push, pull request).
"""

"""The one error family of releasegate.

Every error carries a message that names the file, field or command involved and,
where one exists, a hint that says how to fix it. The CLI maps ``exit_code`` to the
process exit status: 2 for bad input or usage, 1 for a check that ran and failed
(a policy refusal, :class:`RefusedError`, is such a failed check).
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3


class ReleasegateError(Exception):
    """Base class: something releasegate cannot do, with what to do about it."""

    exit_code = EXIT_INPUT

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class InputError(ReleasegateError):
    """A file, flag or payload given to releasegate is unusable."""


class ConfigError(InputError):
    """The policy pack or a schema of the repository is itself invalid."""


class RefusedError(ReleasegateError):
    """The request is understood but the rules say no, now: a canary's hold has not passed, its
    analysis failed or is missing, or a canary is still running. Exit 1, like a failed check."""

    exit_code = EXIT_FAILED


class CommandError(ReleasegateError):
    """An external command (git, kubectl) failed."""

    def __init__(
        self, args: list[str], returncode: int, stderr: str, hint: str | None = None
    ) -> None:
        tail = stderr.strip().splitlines()[-5:]
        detail = "\n    ".join(tail) if tail else "(no output)"
        message = (
            f"command failed (exit {returncode}): {' '.join(args)}\n    {detail}"
        )
        super().__init__(message, hint)
        self.args_list = args
        self.returncode = returncode
        self.stderr = stderr


class GitError(ReleasegateError):
    """The Git repository is not in a state releasegate can work with."""


class GitHubError(ReleasegateError):
    """GitHub refused or failed a request."""


class PermitError(ReleasegateError):
    """The event does not permit running a pull request's commit on the self-hosted runner
    (the maintainer's label is missing, or the pull request moved after it was added)."""


class ArtifactError(InputError):
    """A model artifact is missing, has the wrong digest, or cannot be loaded safely."""


class RequestError(InputError):
    """An inference request is malformed; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class SignatureError(ReleasegateError):
    """A model signature or evidence record did not verify (exit 1: the check ran and failed).

    ``code`` says why, for reports and tests: ``signature-mismatch`` (the artifact is not what
    was signed), ``untrusted-signer``, ``certificate-expired``, ``certificate-not-yet-valid``,
    ``certificate-identity``, ``signature-invalid``, ``signature-missing``, ``bundle-digest``.
    """

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, *, code: str = "signature-invalid") -> None:
        super().__init__(message, hint)
        self.code = code


class SignatureInputError(InputError):
    """A signature bundle, key or certificate cannot be read at all (truncated, oversized, not a
    bundle, an unsupported key type): bad input, exit 2. ``code`` as for :class:`SignatureError`."""

    def __init__(self, message: str, hint: str | None = None, *, code: str = "bundle-unreadable") -> None:
        super().__init__(message, hint)
        self.code = code


class PlaceholderError(ReleasegateError):
    """A setting still holds a documentation placeholder (an example.com address, the unpublished
    default image): what would be applied cannot work. Exit 1, like a failed check."""

    exit_code = EXIT_FAILED

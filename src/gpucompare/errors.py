"""The project's error types, and the CLI's exit statuses (one place; README "Exit status").

The CLI prints any :class:`GpucompareError` as one line and exits with its ``exit_status``: 2 (usage or bad
input) unless the class says otherwise (:class:`EnvironmentProblem`: 3).
"""

#: The exit statuses of ``gpucompare``: distinct, so a script can tell them apart.
EXIT_OK = 0
EXIT_FAILED = 1  # a case failed, a regression (diff), a claim contradicted where a command says so
EXIT_USAGE = 2  # bad arguments, bad input file or record, unknown name
EXIT_ENVIRONMENT = 3  # this machine cannot do it: no GPU for --tier gpu, a cache or launcher unusable
EXIT_INTERNAL = 70  # an unexpected exception: a bug (one line; GPUCOMPARE_DEBUG=1 prints the traceback)
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGINT (records written so far are kept)


class GpucompareError(Exception):
    """Base class: a problem the user can fix (bad input, bad file, unknown name)."""

    exit_status = EXIT_USAGE


class EnvironmentProblem(GpucompareError):
    """This machine cannot do what was asked (no GPU, no loopback, an unusable cache): exit status 3."""

    exit_status = EXIT_ENVIRONMENT


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what was kept (``gpucompare run``: the run folder); the CLI prints it in one line, 130."""


class SpecError(GpucompareError):
    """The chip database is malformed, or a chip lookup failed."""


class UnknownChipError(SpecError):
    """No chip matches a name; ``candidates`` holds the closest ids."""

    def __init__(self, name: str, candidates: list[str]):
        self.name = name
        self.candidates = candidates
        hint = f"; closest: {', '.join(candidates)}" if candidates else ""
        super().__init__(f"unknown chip {name!r}{hint}")


class ResultsError(GpucompareError):
    """A results file is malformed (the message names file, line and field)."""


class ClaimsError(GpucompareError):
    """The claims file is malformed."""


def first_line(exc: BaseException) -> str:
    """``"TypeName: first line of the message"`` (or just the type name): how a failure is written in one line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__

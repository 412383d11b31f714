"""The project's error types. The CLI prints any of them as one line and exits with status 2."""


class GpucompareError(Exception):
    """Base class: a problem the user can fix (bad input, bad file, unknown name)."""


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

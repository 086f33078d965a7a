"""Errors a user can act on. The CLI prints each as one line on stderr and exits 2."""


class UserError(Exception):
    """Bad usage or bad input: a missing file, an unknown format, a broken catalog."""


class WarehouseBusy(UserError):
    """Another process holds the warehouse."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message: enough to act on, short enough to read."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class CheckFailed(Exception):
    """A check found what must not be: a failed audit, a policy breach. The CLI exits 1."""

"""User-facing errors.

Every problem a user can fix (a bad config value, a missing file, an unknown task)
raises :class:`WmgeomError`. The CLI prints its message on one line and exits with
status 2, without a traceback; any other exception is a bug and keeps its traceback.
"""


class WmgeomError(Exception):
    """An error caused by user input, with a message that names the problem and the fix."""

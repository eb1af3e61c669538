"""The one exception type that synthgen raises for problems a user can fix.

The CLI turns a `SynthgenError` into a one-line message and exit code 2; anything else is a bug
and keeps its traceback.
"""


class SynthgenError(Exception):
    """A bad input, option or environment: the message names the file or field and the fix."""

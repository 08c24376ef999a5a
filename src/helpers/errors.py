"""The one exception type users see.

A UserError carries a single line that says what is wrong and how to fix it.
The CLI prints it as `error: ...` with exit status 2; notebooks show it as text.
Anything else that escapes is a bug in the workspace, not in the user's input.
"""


class UserError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    def __init__(self, message: str):
        # Keep it to one line even if a caller passes a multi-line detail.
        super().__init__(" ".join(str(message).split()))


class ConfigError(UserError):
    """A file the user edits (scenarios, human data) is malformed."""

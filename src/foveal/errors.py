"""The one exception type for bad user input.

Raise `FovealError` with a message that names the file, field or value and what was
expected. The CLI prints it on one line, without a traceback, and exits with code 2.
"""


class FovealError(ValueError):
    """Bad input from a user: a recipe, a path, a task name, a level, a dataset row."""

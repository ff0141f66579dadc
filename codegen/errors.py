"""One exception type for everything a user can fix.

The CLI prints ``codegen: error: <message>`` (one line) and exits 2 for these;
anything else is a bug in codegen and keeps its traceback.
"""


class CodegenError(Exception):
    """A problem with the user's model or options, explained in one line."""

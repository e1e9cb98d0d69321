"""Errors of the backup library (``lib/``) as users read them.

The library raises errors that keep their English template and its values
(``lib/errors.py``); here the template is translated into the language of
the environment, then filled.
"""

from .lib.errors import BackupLibError, LibMessage


def error_text(env, error):
    """The message of ``error`` in ``env``'s language (library errors and messages), or as it is."""
    if isinstance(error, (BackupLibError, LibMessage)):
        if not error.params:
            return env._(error.template)
        return env._(error.template, **error.params)
    if isinstance(error, OSError) and error.strerror:
        # The system's own words (in the server's language), and the file they are about.
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return str(error)

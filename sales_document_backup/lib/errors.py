"""Errors of the backup library, in the user's language once the addon shows them.

The library is plain Python: the command-line tool uses it where Odoo does not
run, and prints the English text (``str(error)``). Each error keeps its message
template, marked with ``_lt`` so that Odoo's term extractor puts it in the
addon's catalog, and the values that fill it; the addon shows the template
translated (``sales_document_backup.errors.error_text``).
"""


def _lt(template):
    """Mark ``template`` as a translatable message; it is translated where it is shown."""
    return template


class LibMessage(str):
    """A message of the library that is not an error (e.g. a difference found).

    It is its English text, and keeps its template and values so that the
    addon can show it translated, like the errors.
    """

    def __new__(cls, template, **params):
        message = super().__new__(cls, template % params if params else template)
        message.template = template
        message.params = params
        return message


class BackupLibError(Exception):
    """An error whose message is ``template % params`` (named placeholders)."""

    def __init__(self, template, **params):
        self.template = template
        self.params = params
        super().__init__(template % params if params else template)

"""Context grants that only the server can give.

Some guards must let the addon's own code through: an internal write of a
protected field, a deletion through the archive wizard, a write of ``state``
inside a guarded transition. Such code puts a grant in the context. Its value
is a private object compared with ``is``: a client sends XML-RPC or JSON
values, never a Python object, so sending the key with any value opens
nothing.
"""


class ServerGrant:
    """One context key whose only accepted value is a private object."""

    __slots__ = ("_token", "key")

    def __init__(self, key):
        self.key = key
        self._token = object()

    def given(self, env):
        """Whether ``env`` carries this grant (set by server code)."""
        return env.context.get(self.key) is self._token

    def give(self, records):
        """``records`` in a context carrying this grant."""
        return records.with_context(**{self.key: self._token})

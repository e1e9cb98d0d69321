from odoo import _, api, models
from odoo.exceptions import UserError

from ..tools.server_grant import ServerGrant

# Put in the context by the guarded transitions (confirm, cancel, post, reset
# to draft, validate): their writes of ``state`` pass.
STATE_TRANSITION = ServerGrant("sd_state_transition")


def in_state_transition(env):
    """Whether ``env`` runs inside a guarded transition, or as superuser.

    ``env.su`` is set by server code only (``sudo()``); no RPC call runs as
    superuser.
    """
    return env.su or STATE_TRANSITION.given(env)


with_state_transition = STATE_TRANSITION.give


class SalesDocumentMixin(models.AbstractModel):
    """State machines of the sales documents, enforced at the data layer.

    ``state`` of a sales document changes only through the transitions that
    run the guards (confirm, cancel, post, reset to draft, validate...). Each
    concrete model wraps those transitions with :meth:`_sd_state_transition`;
    a write of ``state`` outside them (a client's ``write``, ``create`` with a
    state, an import with a state column) is refused unless it is one of the
    harmless moves the model lists in ``_sd_free_state_moves``, or server code
    running as superuser.

    The concrete models call the two checks from their own ``create`` and
    ``write`` (files imported last, so they run first), not from the mixin's:
    a refusal then comes before Odoo's ``create`` draws a number from the
    document's sequence.
    """

    _inherit = "sales.document.mixin"

    # (from, to) moves of ``state`` any write may do: they protect nothing.
    _sd_free_state_moves = frozenset()
    # States a record may be created in outside a transition.
    _sd_create_states = frozenset({"draft"})

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _sd_state_transition(self):
        """Return ``self`` in a guarded transition: its writes of ``state`` pass."""
        return with_state_transition(self)

    def _sd_in_state_transition(self):
        return in_state_transition(self.env)

    def _sd_check_state_write(self, vals):
        """Refuse a write of ``state`` that does not come from a guarded transition.

        Set-wise: the current states of all records are read at once.
        """
        if "state" not in vals or self._sd_in_state_transition() or not self:
            return
        new = vals["state"]
        moves = {(old, new) for old in set(self.mapped("state")) if old != new}
        if moves <= self._sd_free_state_moves:
            return
        self._sd_raise_state_error(new)

    @api.model
    def _sd_check_state_create(self, vals_list):
        """Refuse to create records in a state only a transition may give them."""
        if self._sd_in_state_transition():
            return
        default = self.env.context.get("default_state")
        for vals in vals_list:
            state = vals.get("state", default)
            if state and state not in self._sd_create_states:
                self._sd_raise_state_error(state)

    @api.model
    def _sd_raise_state_error(self, state):
        labels = dict(self._fields["state"]._description_selection(self.env))
        raise UserError(_(
            "%(model)s: the status cannot be set to %(state)s directly. Use the document's "
            "actions (confirm, post, validate, cancel, reset to draft), which run the checks.",
            model=self._description,
            state=labels.get(state, state),
        ))

from odoo import _, models
from odoo.exceptions import AccessError

# Groups that may give a customer to another salesperson.
REASSIGN_GROUPS = ("sales_team.group_sale_manager", "base.group_system")


class ResPartner(models.Model):
    _inherit = "res.partner"

    def write(self, vals):
        if self.env.su or not {"user_id", "parent_id", "is_company"} & set(vals):
            return super().write(vals)
        may_reassign = any(self.env.user.has_group(group) for group in REASSIGN_GROUPS)
        # sudo: the owner of a partner the user cannot read still decides whose documents they are.
        partners = self.sudo()
        old_users = {partner.id: partner.user_id for partner in partners}
        old_owners = {partner.id: partner.commercial_partner_id.user_id for partner in partners}
        if "user_id" in vals and not may_reassign:
            new_user = vals["user_id"] or False
            if any(user.id != new_user for user in old_users.values()):
                raise AccessError(_(
                    "Only sales managers can change the salesperson of a customer: "
                    "ask a sales manager to reassign %(partners)s.",
                    partners=", ".join(partners.mapped("display_name")),
                ))
        result = super().write(vals)
        if not may_reassign:
            moved = partners.filtered(lambda partner: partner.commercial_partner_id.user_id != old_owners[partner.id])
            if moved:
                # Moving a contact under another company moves its documents to that company's salesperson.
                raise AccessError(_(
                    "Only sales managers can move %(partners)s to a company that belongs to another salesperson.",
                    partners=", ".join(moved.mapped("display_name")),
                ))
        changed = partners.filtered(lambda partner: partner.user_id != old_users[partner.id])
        if changed:
            changed._audit_salesperson_change(old_users)
        return result

    def _audit_salesperson_change(self, old_users):
        """One audit row per partner whose salesperson changed (who sees its documents)."""

        def named(user):
            return [user.id, user.name] if user else None

        self.env["sales.document.audit.log"]._insert_record_rows(
            self, "write", lambda partner: {"user_id": [named(old_users[partner.id]), named(partner.user_id)]}
        )

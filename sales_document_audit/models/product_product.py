from odoo import models


class ProductProduct(models.Model):
    _inherit = "product.product"

    def _compute_quantities_dict(self, lot_id, owner_id, package_id, from_date=False, to_date=False):
        # A salesperson sees only their own customers' stock moves; the
        # forecast of a product still counts every move, whoever's customer
        # it ships to (quantities only, no document is shown).
        user = self.env.user
        if (
            not self.env.su
            and user.has_group("sales_team.group_sale_salesman")
            and not user.has_group("sales_team.group_sale_salesman_all_leads")
            and not user.has_group("stock.group_stock_user")
        ):
            self = self.sudo()  # noqa: PLW0642
        return super(ProductProduct, self)._compute_quantities_dict(
            lot_id, owner_id, package_id, from_date=from_date, to_date=to_date
        )

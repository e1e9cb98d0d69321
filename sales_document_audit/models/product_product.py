from odoo import models


class ProductProduct(models.Model):
    _inherit = "product.product"

    def _compute_quantities_dict(self, lot_id, owner_id, package_id, from_date=False, to_date=False):
        user = self.env.user
        products = self
        if (
            not self.env.su
            and user.has_group("sales_team.group_sale_salesman")
            and not user.has_group("sales_team.group_sale_salesman_all_leads")
            and not user.has_group("stock.group_stock_user")
        ):
            # sudo: a salesperson sees only their own customers' stock moves,
            # but a product's forecast counts every move (quantities, no document).
            products = self.sudo()
        return super(ProductProduct, products)._compute_quantities_dict(
            lot_id, owner_id, package_id, from_date=from_date, to_date=to_date
        )

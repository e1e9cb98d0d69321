from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, float_compare

# One row per product and warehouse, bumped by every confirmation that takes
# stock of it. Odoo's transactions run in REPEATABLE READ: a lock alone would
# let the second confirmation read free quantities from its snapshot taken
# before the first one committed. Updating the row instead makes PostgreSQL
# refuse the second confirmation with a serialization failure, which Odoo
# retries; the retry sees the first order's demand.
LOCK_TABLE = "sales_document_oversell_lock"


class SaleOrder(models.Model):
    """Guard against selling the same units twice.

    At confirmation the order's demand per product and warehouse is compared
    with the free quantity there (on hand, minus reserved, minus the confirmed
    demand not reserved yet), under a per product and warehouse lock. What
    happens on a shortage depends on the company's ``sales_oversell_mode``.
    """

    _inherit = "sale.order"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    oversell_override_reason = fields.Char(
        string="Stock shortage accepted because",
        copy=False,
        tracking=True,
        help="A sales manager may confirm an order despite a stock shortage, with a reason.",
    )
    oversell_override_user_id = fields.Many2one(
        "res.users", string="Shortage accepted by", readonly=True, copy=False
    )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("oversell_override_reason"):
                self._sd_check_oversell_override_allowed()
                vals["oversell_override_user_id"] = self.env.uid
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("oversell_override_reason"):
            self._sd_check_oversell_override_allowed()
            vals = dict(vals, oversell_override_user_id=self.env.uid)
        return super().write(vals)

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _sd_check_oversell_override_allowed(self):
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise AccessError(_("Only sales managers can accept a stock shortage."))

    def _sd_oversell_demand(self, rule_cache=None):
        """Demand of the order in product units, per (product, warehouse)."""
        self.ensure_one()
        demand = defaultdict(float)
        rule_cache = {} if rule_cache is None else rule_cache
        for line in self.order_line:
            product = line.product_id
            if line.display_type or not product or not product.is_storable:
                continue
            warehouse = line.warehouse_id or self.warehouse_id
            if not warehouse or self._sd_oversell_line_skipped(line, warehouse, rule_cache):
                continue
            qty = line.product_uom._compute_quantity(
                line.product_uom_qty, product.uom_id, rounding_method="HALF-UP"
            )
            demand[product.id, warehouse.id] += qty
        return demand

    def _sd_oversell_shortages(self):
        """Products short for this order: list of (product, warehouse, needed, free)."""
        self.ensure_one()
        demand = self._sd_oversell_demand()
        if not demand:
            return []
        return self._sd_oversell_take(demand, self._sd_oversell_free_qty(demand))

    @api.model
    def _sd_oversell_take(self, demand, free):
        """Take ``demand`` out of ``free`` (both per (product id, warehouse id)); return the shortages.

        ``free`` is updated in place, so that orders confirmed together share
        the same free stock. Shortages: list of (product, warehouse, needed,
        free before this demand).
        """
        shortages = []
        for (product_id, warehouse_id), qty in demand.items():
            product = self.env["product.product"].browse(product_id)
            available = free.get((product_id, warehouse_id), 0.0)
            if float_compare(qty, available, precision_rounding=product.uom_id.rounding) > 0:
                shortages.append((product, self.env["stock.warehouse"].browse(warehouse_id), qty, available))
            free[product_id, warehouse_id] = available - qty
        return shortages

    def _sd_oversell_line_skipped(self, line, warehouse, rule_cache):
        """Lines served without the warehouse's stock: make-to-order and dropship.

        The delivery rule Odoo will apply depends on the routes only, not on
        the product itself: it is looked up once per set of routes.
        """
        product = line.product_id
        key = (
            line.route_id.id,
            tuple(product.route_ids.ids),
            tuple(product.categ_id.total_route_ids.ids),
            warehouse.id,
        )
        if key not in rule_cache:
            location = self.partner_shipping_id.property_stock_customer
            rule = self.env["procurement.group"]._get_rule(product, location, {
                "warehouse_id": warehouse,
                "route_ids": line.route_id,
                "company_id": self.company_id,
            })
            rule_cache[key] = bool(rule) and (
                rule.procure_method == "make_to_order"
                or rule.location_src_id.usage == "supplier"
            )
        return rule_cache[key]

    def _sd_check_oversell(self):
        """Confirm only what the free stock covers, according to the company's mode."""
        orders = self.filtered(
            lambda o: o.state in ("draft", "sent") and o.company_id.sales_oversell_mode != "off"
        )
        if not orders:
            return
        rule_cache = {}
        demands = {order: order._sd_oversell_demand(rule_cache) for order in orders}
        keys = set()
        for demand in demands.values():
            keys.update(demand)
        if not keys:
            return
        if any(o.company_id.sales_oversell_mode in ("block", "approval") for o in orders):
            self._sd_oversell_lock(keys)
        free = self._sd_oversell_free_qty(keys)
        problems = []
        for order in orders:
            shortages = self._sd_oversell_take(demands[order], free)
            if not shortages:
                continue
            mode = order.company_id.sales_oversell_mode
            text = order._sd_oversell_text(shortages)
            if mode == "warn":
                order.message_post(body=_("Confirmed despite a stock shortage:\n%(shortages)s", shortages=text))
            elif order.oversell_override_reason:
                order.message_post(body=_(
                    "Confirmed despite a stock shortage, accepted by %(user)s: %(reason)s\n%(shortages)s",
                    user=order.oversell_override_user_id.name or self.env.user.name,
                    reason=order.oversell_override_reason,
                    shortages=text,
                ))
            elif mode == "approval" and order._sd_approval_valid() and order.approval_oversell:
                order.message_post(body=_(
                    "Confirmed despite a stock shortage, approved by %(user)s:\n%(shortages)s",
                    user=order.approval_reviewer_id.name, shortages=text,
                ))
            elif mode == "approval":
                problems.append(_(
                    "%(order)s asks for more than the free stock; request an approval first:\n%(shortages)s",
                    order=order.name, shortages=text,
                ))
            else:
                problems.append(_(
                    "%(order)s asks for more than the free stock:\n%(shortages)s",
                    order=order.name, shortages=text,
                ))
        if problems:
            raise UserError(_(
                "Not enough free stock to confirm:\n%(problems)s\n"
                "Reduce the quantities, or ask a sales manager to accept the shortage with a reason.",
                problems="\n".join(problems),
            ))

    def _sd_oversell_text(self, shortages):
        lines = []
        for product, warehouse, needed, free in shortages:
            # Formatted first: the term extractor cannot read f-strings inside _().
            needed_text = f"{needed:g}"
            free_text = f"{max(free, 0.0):g}"
            lines.append(_(
                "- %(product)s in %(warehouse)s: %(needed)s %(uom)s ordered, %(free)s free",
                product=product.display_name,
                warehouse=warehouse.name,
                needed=needed_text,
                free=free_text,
                uom=product.uom_id.name,
            ))
        return "\n".join(lines)

    @api.model
    def _sd_oversell_lock(self, keys):
        """Serialize confirmations taking stock of the same products and warehouses."""
        keys = sorted(keys)
        self.env.cr.execute(SQL(
            """
            INSERT INTO %(table)s (product_id, warehouse_id, counter)
                 SELECT k.product_id, k.warehouse_id, 1
                   FROM unnest(%(products)s::int[], %(warehouses)s::int[]) AS k(product_id, warehouse_id)
               ORDER BY k.product_id, k.warehouse_id
            ON CONFLICT (product_id, warehouse_id)
              DO UPDATE SET counter = %(table)s.counter + 1
            """,
            table=SQL.identifier(LOCK_TABLE),
            products=[k[0] for k in keys],
            warehouses=[k[1] for k in keys],
        ))

    @api.model
    def _sd_oversell_free_qty(self, keys):
        """Free quantity per (product, warehouse), in product units.

        On hand in the warehouse's internal locations, minus what is reserved
        there, minus the part of pending moves leaving the warehouse that is
        not reserved yet. With multi-step deliveries a reserved picking move
        and the unreserved shipping move after it both count: the guard errs
        on the safe side.
        """
        keys = sorted(keys)
        self.env["stock.quant"].flush_model(["product_id", "location_id", "quantity", "reserved_quantity"])
        self.env["stock.move"].flush_model(
            ["product_id", "location_id", "location_dest_id", "state", "product_qty"]
        )
        self.env["stock.move.line"].flush_model(["move_id", "quantity_product_uom"])
        self.env["stock.location"].flush_model(["parent_path", "usage"])
        self.env.cr.execute(SQL(
            """
            WITH keys AS (
                SELECT k.product_id, k.warehouse_id, view.parent_path
                  FROM unnest(%(products)s::int[], %(warehouses)s::int[]) AS k(product_id, warehouse_id)
                  JOIN stock_warehouse wh ON wh.id = k.warehouse_id
                  JOIN stock_location view ON view.id = wh.view_location_id
            ), stock AS (
                SELECT k.product_id, k.warehouse_id,
                       SUM(q.quantity) AS on_hand, SUM(q.reserved_quantity) AS reserved
                  FROM keys k
                  JOIN stock_quant q ON q.product_id = k.product_id
                  JOIN stock_location loc ON loc.id = q.location_id
                 WHERE loc.usage = 'internal' AND loc.parent_path LIKE k.parent_path || %(any)s
              GROUP BY k.product_id, k.warehouse_id
            ), demand AS (
                SELECT k.product_id, k.warehouse_id,
                       SUM(GREATEST(m.product_qty - COALESCE((
                           SELECT SUM(ml.quantity_product_uom)
                             FROM stock_move_line ml
                            WHERE ml.move_id = m.id
                       ), 0), 0)) AS unreserved
                  FROM keys k
                  JOIN stock_move m ON m.product_id = k.product_id
                  JOIN stock_location src ON src.id = m.location_id
                  JOIN stock_location dest ON dest.id = m.location_dest_id
                 WHERE m.state IN ('waiting', 'confirmed', 'partially_available', 'assigned')
                   AND src.parent_path LIKE k.parent_path || %(any)s
                   AND dest.parent_path NOT LIKE k.parent_path || %(any)s
              GROUP BY k.product_id, k.warehouse_id
            )
            SELECT k.product_id, k.warehouse_id,
                   COALESCE(s.on_hand, 0) - COALESCE(s.reserved, 0) - COALESCE(d.unreserved, 0)
              FROM keys k
         LEFT JOIN stock s ON s.product_id = k.product_id AND s.warehouse_id = k.warehouse_id
         LEFT JOIN demand d ON d.product_id = k.product_id AND d.warehouse_id = k.warehouse_id
            """,
            products=[k[0] for k in keys],
            warehouses=[k[1] for k in keys],
            any="%",
        ))
        return {(product_id, warehouse_id): free for product_id, warehouse_id, free in self.env.cr.fetchall()}

    def init(self):
        res = super().init()
        self.env.cr.execute(SQL(
            """
            CREATE TABLE IF NOT EXISTS %(table)s (
                product_id integer NOT NULL,
                warehouse_id integer NOT NULL,
                counter bigint NOT NULL DEFAULT 0,
                PRIMARY KEY (product_id, warehouse_id)
            )
            """,
            table=SQL.identifier(LOCK_TABLE),
        ))
        return res

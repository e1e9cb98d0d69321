"""Order-to-cash data generator shared by the benchmarks.

``generate_flows(env, n)`` builds ``n`` complete order-to-cash flows through
Odoo's own business methods (no SQL shortcut, so every addon hook runs):

    quotation with several lines -> confirmed order -> delivery validated ->
    invoice created and posted -> payment registered,

plus, for a share of the flows, a partial payment instead of a full one, or a
return (return picking, credit note, refund payment). Master data (customers
with contacts, salespeople in sales teams, stocked products with on-hand
quantity, services, a fixed-price shipping method, payment terms, a bank
journal) is created first by :func:`prepare_master_data`.

Everything is batched: orders are created, confirmed, delivered, invoiced,
posted and paid ``batch_size`` at a time, and the cursor is committed once
per batch. With ``batch_size=1`` every flow is its own transaction, which is
what a user clicking through the flow produces.

Works on a database that only has Odoo's modules (sale_management,
sale_stock, stock_delivery, account) and on one with the project's addons:
every order carries a payment term, a shipping method and, where the field
exists, a preferred payment method, so completeness rules are met.

Two modes:

- ``mode="orm"`` (the default): every flow runs through the ORM as above,
  a few flows per second on a 2-core machine;
- ``mode="clone"``: a few template flows run through the ORM (each payment
  variant: full, partial, return with credit note and refund; ordered by a
  company and by one of its contacts), then the remaining flows are copies
  of them made set-wise in SQL by :mod:`benchmarks.flowclone`, each with its
  own customer, salesperson, team, tag, products, dates and numbers:
  thousands of flows per minute.
"""

import math
import random
import time
import uuid
from dataclasses import dataclass, field

from .timing import StageTimer

# Context of the bulk generator: no chatter tracking, no follower
# subscription, no password-reset mails. Benchmarks that time what a user
# does run without it (``quiet=False``).
QUIET_CONTEXT = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
    "mail_auto_subscribe_no_notify": True,
    "no_reset_password": True,
}

STAGES = ("create", "confirm", "deliver", "invoice", "post", "pay", "return", "refund", "commit")
# Stages of the clone mode, after the template flows' own (ORM) stages.
CLONE_STAGES = ("templates", "stock", "plan", "copy", "finish", "commit")
MODES = ("orm", "clone")


class DatagenError(Exception):
    """The generator could not complete a step; the message says which."""


# ---------------------------------------------------------------------------
# Sizing and planning (pure)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizing:
    """How much master data a run of ``flows`` flows gets by default."""

    customers: int
    contacts_per_customer: int
    salespeople: int
    teams: int
    products: int
    services: int
    tags: int


def default_sizing(flows):
    """Master data proportional to the number of flows, within sane bounds."""
    return Sizing(
        customers=max(10, min(2000, flows // 20)),
        contacts_per_customer=2,
        salespeople=max(3, min(30, flows // 500)),
        teams=max(1, min(5, flows // 2000 + 1)),
        products=max(20, min(500, flows // 20)),
        services=5,
        tags=6,
    )


@dataclass
class FlowPlan:
    """What one flow will contain, decided up front from the seed."""

    index: int
    customer_index: int
    contact_index: int  # -1: the company itself orders
    lines: list  # [(kind, product_index, quantity)], kind "stock" or "service"
    tag_index: int  # -1: no tag
    partial: bool
    returned: bool


def plan_flows(
    rng,
    n,
    sizing,
    start=0,
    min_lines=1,
    max_lines=4,
    max_qty=5,
    service_rate=0.3,
    partial_rate=0.1,
    return_rate=0.1,
    tag_rate=0.5,
):
    """Decide ``n`` flows: customer, lines, and which get a partial payment or a return.

    A flow is never both partially paid and returned: returns are credited
    and refunded in full, which keeps the accounting of each flow simple.
    """
    plans = []
    for i in range(n):
        count = rng.randint(min_lines, min(max_lines, sizing.products))
        products = rng.sample(range(sizing.products), count)
        lines = [("stock", p, rng.randint(1, max_qty)) for p in products]
        if sizing.services and rng.random() < service_rate:
            lines.append(("service", rng.randrange(sizing.services), rng.randint(1, 3)))
        partial = rng.random() < partial_rate
        returned = not partial and rng.random() < return_rate
        contact = (
            rng.randrange(sizing.contacts_per_customer)
            if sizing.contacts_per_customer and rng.random() < 0.5
            else -1
        )
        plans.append(FlowPlan(
            index=start + i,
            customer_index=rng.randrange(sizing.customers),
            contact_index=contact,
            lines=lines,
            tag_index=rng.randrange(sizing.tags) if sizing.tags and rng.random() < tag_rate else -1,
            partial=partial,
            returned=returned,
        ))
    return plans


def stock_demand(plans):
    """Units of each stocked product (by index) the plans will deliver."""
    demand = {}
    for plan in plans:
        for kind, product, qty in plan.lines:
            if kind == "stock":
                demand[product] = demand.get(product, 0) + qty
    return demand


def batches(items, size):
    """Consecutive slices of ``items`` of at most ``size`` elements."""
    size = max(1, int(size))
    return [items[i:i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------------------
# Master data
# ---------------------------------------------------------------------------


@dataclass
class MasterData:
    """Records the flows are built from (ids, so they survive commits)."""

    tag: str
    sizing: Sizing
    company_id: int
    warehouse_id: int
    stock_location_id: int
    customer_ids: list
    contact_ids: list  # per customer: list of contact ids
    salesperson_ids: list  # per customer: the salesperson (user id) in charge
    team_of_user: dict
    product_ids: list
    service_ids: list
    crm_tag_ids: list
    carrier_id: int
    payment_term_id: int
    bank_journal_id: int
    payment_method_line_id: int
    setup_seconds: float = 0.0
    flows_planned: int = 0  # numbers customer references uniquely across calls


def ensure_accounting(env, company):
    """Make sure ``company`` has a chart of accounts, a sale journal and a bank journal.

    Installing ``account`` on a new database loads the generic chart for a
    company without a country; a company created later, or a database set up
    differently, may still lack it, so it is loaded here when missing.
    Returns ``(bank_journal, inbound_payment_method_line)``.
    """
    Journal = env["account.journal"]
    if not company.chart_template:
        template = env["account.chart.template"]
        code = template._guess_chart_template(company.country_id) or "generic_coa"
        template.try_loading(code, company, install_demo=False)
        env.invalidate_all()
    company_domain = [("company_id", "=", company.id)]
    if not Journal.search(company_domain + [("type", "=", "sale")], limit=1):
        raise DatagenError(f"company {company.name} has no sales journal after loading its chart")
    bank = Journal.search(company_domain + [("type", "=", "bank")], limit=1)
    if not bank:
        bank = Journal.create({
            "name": "Bank", "code": "BNK", "type": "bank", "company_id": company.id,
        })
    line = bank.inbound_payment_method_line_ids[:1]
    if not line:
        manual_in = env.ref("account.account_payment_method_manual_in")
        bank.inbound_payment_method_line_ids = [(0, 0, {"payment_method_id": manual_in.id})]
        line = bank.inbound_payment_method_line_ids[:1]
    return bank, line


def _payment_term(env):
    term = env.ref("account.account_payment_term_30days", raise_if_not_found=False)
    if term:
        return term
    return env["account.payment.term"].create({
        "name": "30 days (benchmark)",
        "line_ids": [(0, 0, {"value": "percent", "value_amount": 100.0, "nb_days": 30})],
    })


def _carrier(env, tag):
    product = env["product.product"].create({
        "name": f"Shipping {tag}",
        "type": "service",
        "sale_ok": False,
        "purchase_ok": False,
        "list_price": 0.0,
        "invoice_policy": "order",
    })
    return env["delivery.carrier"].create({
        "name": f"Standard shipping {tag}",
        "delivery_type": "fixed",
        "fixed_price": 10.0,
        "product_id": product.id,
    })


def prepare_master_data(env, flows=1000, seed=0, sizing=None):
    """Create the customers, salespeople, products, stock and settings the flows use.

    ``flows`` only sizes the master data (see :func:`default_sizing`) and the
    initial stock; :func:`generate_flows` tops the stock up when needed.
    Runs as superuser (setup, not part of any measurement).
    """
    started = time.perf_counter()
    env = env(su=True, context=dict(env.context, **QUIET_CONTEXT))
    rng = random.Random(f"master-{seed}")
    sizing = sizing or default_sizing(flows)
    tag = f"{seed}-{uuid.uuid4().hex[:6]}"
    company = env.company
    bank, method_line = ensure_accounting(env, company)
    warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
    if not warehouse:
        # Odoo creates a warehouse for the first company only.
        warehouse = env["stock.warehouse"].create({
            "name": company.name, "code": f"W{company.id}"[:5], "company_id": company.id,
        })

    # Salespeople: real users in the Sales group, spread over sales teams.
    salesman_group = env.ref("sales_team.group_sale_salesman")
    users = env["res.users"].create([
        {
            "name": f"Salesperson {i + 1} ({tag})",
            "login": f"bench.sales.{tag}.{i + 1}",
            "email": f"sales{i + 1}.{tag}@example.com",
            "company_id": company.id,
            "company_ids": [(6, 0, [company.id])],
            "groups_id": [(6, 0, [salesman_group.id])],
        }
        for i in range(sizing.salespeople)
    ])
    team_of_user = {}
    for t, members in enumerate(batches(users, math.ceil(len(users) / sizing.teams))):
        team = env["crm.team"].create({
            "name": f"Team {t + 1} ({tag})",
            "company_id": company.id,
            "user_id": members[0].id,
            "member_ids": [(6, 0, members.ids)],
        })
        team_of_user.update(dict.fromkeys(members.ids, team.id))

    # Customers: companies, each with contacts, each with a salesperson.
    term = _payment_term(env)
    owners = [users[rng.randrange(len(users))].id for _i in range(sizing.customers)]
    customers = env["res.partner"].create([
        {
            "name": f"Customer {i + 1:05d} ({tag})",
            "is_company": True,
            "email": f"customer{i + 1}.{tag}@example.com",
            "street": f"{rng.randint(1, 999)} Market Street",
            "city": "Springfield",
            "user_id": owners[i],
            "property_payment_term_id": term.id,
            "customer_rank": 1,
        }
        for i in range(sizing.customers)
    ])
    contacts = env["res.partner"].create([
        {
            "name": f"Contact {c + 1} of customer {i + 1:05d} ({tag})",
            "parent_id": customer.id,
            "type": "contact",
            "email": f"contact{c + 1}.customer{i + 1}.{tag}@example.com",
        }
        for i, customer in enumerate(customers)
        for c in range(sizing.contacts_per_customer)
    ])
    per = sizing.contacts_per_customer
    contact_ids = [contacts.ids[i * per:(i + 1) * per] for i in range(len(customers))]

    # Products: storable goods invoiced on delivery, and services.
    products = env["product.product"].create([
        {
            "name": f"Product {i + 1:04d} ({tag})",
            "default_code": f"B{tag}-{i + 1:04d}",
            "type": "consu",
            "is_storable": True,
            "invoice_policy": "delivery",
            "list_price": round(rng.uniform(5, 200), 2),
            "standard_price": round(rng.uniform(2, 100), 2),
        }
        for i in range(sizing.products)
    ])
    services = env["product.product"].create([
        {
            "name": f"Service {i + 1} ({tag})",
            "type": "service",
            "invoice_policy": "order",
            "list_price": round(rng.uniform(20, 150), 2),
        }
        for i in range(sizing.services)
    ])
    crm_tags = env["crm.tag"].create([
        {"name": f"Tag {i + 1} ({tag})"} for i in range(sizing.tags)
    ])
    carrier = _carrier(env, tag)

    master = MasterData(
        tag=tag,
        sizing=sizing,
        company_id=company.id,
        warehouse_id=warehouse.id,
        stock_location_id=warehouse.lot_stock_id.id,
        customer_ids=customers.ids,
        contact_ids=contact_ids,
        salesperson_ids=owners,
        team_of_user=team_of_user,
        product_ids=products.ids,
        service_ids=services.ids,
        crm_tag_ids=crm_tags.ids,
        carrier_id=carrier.id,
        payment_term_id=term.id,
        bank_journal_id=bank.id,
        payment_method_line_id=method_line.id,
    )
    # Plenty of stock: three times the expected demand of ``flows`` flows.
    expected = stock_demand(plan_flows(random.Random(seed), flows, sizing))
    top_up_stock(env, master, {p: 3 * q for p, q in expected.items()}, minimum=100)
    env.flush_all()
    master.setup_seconds = time.perf_counter() - started
    return master


def top_up_stock(env, master, demand, minimum=0):
    """Raise on-hand stock so each product's free quantity covers ``demand``.

    ``demand`` maps product index to units. Uses an inventory adjustment,
    the way a stock manager would. Returns the number of products adjusted.
    """
    env = env(su=True, context=dict(env.context, **QUIET_CONTEXT))
    Product = env["product.product"].with_context(location=master.stock_location_id)
    Quant = env["stock.quant"].with_context(inventory_mode=True)
    vals = []
    for index, product in enumerate(Product.browse(master.product_ids)):
        wanted = max(demand.get(index, 0), minimum)
        free = product.free_qty
        if not wanted or free >= wanted:
            continue
        quant = Quant.search([
            ("product_id", "=", product.id),
            ("location_id", "=", master.stock_location_id),
        ], limit=1)
        on_hand = quant.quantity if quant else 0.0
        # Twice the shortfall, so that the next runs rarely need another adjustment.
        vals.append((quant, product, on_hand + (wanted - free) * 2))
    if not vals:
        return 0
    quants = Quant.browse()
    new_vals = []
    for quant, product, target in vals:
        if quant:
            quant.inventory_quantity = target
            quants |= quant
        else:
            new_vals.append({
                "product_id": product.id,
                "location_id": master.stock_location_id,
                "inventory_quantity": target,
            })
    if new_vals:
        quants |= Quant.create(new_vals)
    quants.action_apply_inventory()
    return len(vals)


# ---------------------------------------------------------------------------
# Flows
# ---------------------------------------------------------------------------


@dataclass
class FlowStats:
    """Counts and timings of one :func:`generate_flows` call."""

    flows: int = 0
    orders: int = 0
    deliveries: int = 0
    returns: int = 0
    invoices: int = 0
    credit_notes: int = 0
    payments: int = 0
    partial_payments: int = 0
    refund_payments: int = 0
    elapsed: float = 0.0
    stock_seconds: float = 0.0
    stage_seconds: dict = field(default_factory=dict)
    batch_seconds: list = field(default_factory=list)
    order_ids: list = field(default_factory=list)
    mode: str = "orm"
    templates: int = 0  # clone mode: flows run through the ORM and copied
    clones: int = 0  # clone mode: flows copied in SQL
    rows_copied: dict = field(default_factory=dict)  # clone mode: table -> rows
    template_of: dict = field(default_factory=dict)  # clone mode: copied order id -> template order id
    uncloned: dict = field(default_factory=dict)  # clone mode: "table.column" -> rows

    @property
    def flows_per_second(self):
        return self.flows / self.elapsed if self.elapsed else 0.0

    def merge(self, other):
        """Add ``other``'s counts and timings to this one; returns self."""
        for name in ("flows", "orders", "deliveries", "returns", "invoices", "credit_notes",
                     "payments", "partial_payments", "refund_payments", "elapsed",
                     "stock_seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for stage, seconds in other.stage_seconds.items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + seconds
        self.batch_seconds.extend(other.batch_seconds)
        self.order_ids.extend(other.order_ids)
        self.template_of.update(other.template_of)
        return self

    def as_dict(self):
        data = {k: v for k, v in self.__dict__.items()
                if k not in ("order_ids", "batch_seconds", "template_of")}
        data["flows_per_second"] = self.flows_per_second
        return data


def _order_vals(master, plan, has_preferred_method):
    customer = master.customer_ids[plan.customer_index]
    partner = (
        master.contact_ids[plan.customer_index][plan.contact_index]
        if plan.contact_index >= 0 else customer
    )
    user = master.salesperson_ids[plan.customer_index]
    lines = []
    for kind, index, qty in plan.lines:
        product = master.product_ids[index] if kind == "stock" else master.service_ids[index]
        lines.append((0, 0, {"product_id": product, "product_uom_qty": qty}))
    vals = {
        "partner_id": partner,
        "user_id": user,
        "team_id": master.team_of_user.get(user, False),
        "company_id": master.company_id,
        "warehouse_id": master.warehouse_id,
        "client_order_ref": f"PO-{master.tag}-{plan.index + 1:07d}",
        "payment_term_id": master.payment_term_id,
        "carrier_id": master.carrier_id,
        "order_line": lines,
    }
    if has_preferred_method:
        vals["preferred_payment_method_line_id"] = master.payment_method_line_id
    if plan.tag_index >= 0:
        vals["tag_ids"] = [(6, 0, [master.crm_tag_ids[plan.tag_index]])]
    return vals


def _validate_pickings(pickings, what):
    """Validate fully reserved pickings in one call; anything else is an error."""
    if not pickings:
        return
    pickings.action_assign()
    short = pickings.filtered(lambda p: p.state != "assigned")
    if short:
        raise DatagenError(
            f"{len(short)} {what} not fully reserved (e.g. {short[0].name}, state {short[0].state}): "
            "not enough stock or a rule held them"
        )
    result = pickings.button_validate()
    not_done = pickings.filtered(lambda p: p.state != "done")
    if not_done:
        raise DatagenError(
            f"{len(not_done)} {what} not validated (e.g. {not_done[0].name}); "
            f"button_validate returned {result!r:.200}"
        )


def _register_payments(env, moves, journal_id, amount=None):
    """Pay posted ``moves`` through the payment wizard (``account.payment.register``).

    Without ``amount``, every move is paid in full, one payment per move, in
    a single wizard call. With ``amount`` (one move only), a partial payment
    that leaves the rest open.
    """
    if not moves:
        return env["account.payment"]
    vals = {"group_payment": False, "journal_id": journal_id}
    if amount is not None:
        vals.update({"amount": amount, "payment_difference_handling": "open"})
    wizard = env["account.payment.register"].with_context(
        active_model="account.move", active_ids=moves.ids
    ).create(vals)
    return wizard._create_payments()


def _pay_in_batch(env, moves, journal_id, amounts=None):
    """Pay posted ``moves`` with one payment each, created, posted and reconciled together.

    The same records as the wizard produces (payment linked to its invoice,
    posted, reconciled with the invoice's receivable line), but one
    reconciliation for the whole batch instead of one per payment.
    ``amounts`` maps a move id to a partial amount; other moves are paid in full.
    """
    if not moves:
        return env["account.payment"]
    amounts = amounts or {}
    journal = env["account.journal"].browse(journal_id)
    methods = {
        "inbound": journal.inbound_payment_method_line_ids[:1],
        "outbound": journal.outbound_payment_method_line_ids[:1],
    }
    vals_list = []
    open_lines = []
    for move in moves:
        lines = move.line_ids.filtered(
            lambda aml: aml.account_type in ("asset_receivable", "liability_payable")
            and not aml.reconciled)
        direction = "inbound" if move.move_type == "out_invoice" else "outbound"
        residual = abs(sum(lines.mapped("amount_residual_currency")))
        vals_list.append({
            "payment_type": direction,
            "partner_type": "customer",
            "partner_id": move.commercial_partner_id.id,
            "amount": amounts.get(move.id, residual),
            "currency_id": move.currency_id.id,
            "journal_id": journal.id,
            "company_id": move.company_id.id,
            "payment_method_line_id": methods[direction].id,
            "destination_account_id": lines[:1].account_id.id,
            "memo": move.payment_reference or move.name,
            "invoice_ids": [(6, 0, move.ids)],
        })
        open_lines.append(lines)
    payments = env["account.payment"].with_context(skip_invoice_sync=True).create(vals_list)
    payments.action_post()
    plan = []
    for payment, lines in zip(payments, open_lines):
        counterpart = payment.move_id.line_ids.filtered(
            lambda aml, account=lines[:1].account_id: aml.account_id == account
            and not aml.reconciled)
        plan.append(counterpart + lines)
    env["account.move.line"]._reconcile_plan(plan)
    return payments


def _return_pickings(env, pickings, rng):
    """Create a return of part of each delivery; returns the return pickings."""
    returns = env["stock.picking"]
    Wizard = env["stock.return.picking"]
    for picking in pickings:
        wizard = Wizard.with_context(
            active_id=picking.id, active_ids=picking.ids, active_model="stock.picking"
        ).create({})
        candidates = wizard.product_return_moves.filtered(lambda line: line.move_quantity > 0)
        if not candidates:
            continue
        line = candidates[rng.randrange(len(candidates))]
        line.quantity = max(1, int(line.move_quantity // 2))
        if "to_refund" in line._fields:
            line.to_refund = True
        action = wizard.action_create_returns()
        returns |= env["stock.picking"].browse(action["res_id"])
    return returns


def _run_batch(env, master, plans, stats, timer, rng, commit, use_wizard):
    Order = env["sale.order"]
    has_preferred = "preferred_payment_method_line_id" in Order._fields
    batch_start = time.perf_counter()

    with timer.stage("create"):
        orders = Order.create([_order_vals(master, p, has_preferred) for p in plans])
        env.flush_all()
    with timer.stage("confirm"):
        orders.action_confirm()
        env.flush_all()
    unconfirmed = orders.filtered(lambda o: o.state != "sale")
    if unconfirmed:
        raise DatagenError(
            f"{len(unconfirmed)} orders not confirmed (e.g. {unconfirmed[0].name}, "
            f"state {unconfirmed[0].state}): an approval or oversell rule may hold them"
        )
    with timer.stage("deliver"):
        deliveries = orders.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))
        _validate_pickings(deliveries, "deliveries")
        env.flush_all()
    with timer.stage("invoice"):
        invoices = orders._create_invoices(grouped=True)
        env.flush_all()
    with timer.stage("post"):
        invoices.action_post()
        env.flush_all()

    partial_orders = orders.browse([o.id for o, p in zip(orders, plans) if p.partial])
    returned_orders = orders.browse([o.id for o, p in zip(orders, plans) if p.returned])
    with timer.stage("pay"):
        partial_invoices = partial_orders.invoice_ids & invoices
        partial_amounts = {
            invoice.id: invoice.currency_id.round(invoice.amount_residual * rng.uniform(0.3, 0.7))
            for invoice in partial_invoices
        }
        if use_wizard:
            payments = _register_payments(env, invoices - partial_invoices, master.bank_journal_id)
            for invoice in partial_invoices:
                payments |= _register_payments(
                    env, invoice, master.bank_journal_id, amount=partial_amounts[invoice.id])
        else:
            payments = _pay_in_batch(env, invoices, master.bank_journal_id, partial_amounts)
        stats.partial_payments += len(partial_invoices)
        env.flush_all()

    credit_notes = env["account.move"]
    refunds = env["account.payment"]
    returns = env["stock.picking"]
    if returned_orders:
        with timer.stage("return"):
            delivered = returned_orders.picking_ids.filtered(
                lambda p: p.state == "done" and p.picking_type_code == "outgoing")
            returns = _return_pickings(env, delivered, rng)
            _validate_pickings(returns, "returns")
            env.flush_all()
        with timer.stage("refund"):
            credit_notes = returned_orders._create_invoices(grouped=True, final=True)
            credit_notes.action_post()
            pay = _register_payments if use_wizard else _pay_in_batch
            refunds = pay(env, credit_notes, master.bank_journal_id)
            env.flush_all()

    if commit:
        with timer.stage("commit"):
            env.cr.commit()

    stats.flows += len(plans)
    stats.orders += len(orders)
    stats.deliveries += len(deliveries)
    stats.returns += len(returns)
    stats.invoices += len(invoices)
    stats.credit_notes += len(credit_notes)
    stats.payments += len(payments) + len(refunds)
    stats.refund_payments += len(refunds)
    stats.order_ids.extend(orders.ids)
    stats.batch_seconds.append(time.perf_counter() - batch_start)


def generate_flows(
    env,
    n,
    seed=0,
    batch_size=100,
    master=None,
    quiet=True,
    commit=True,
    user=None,
    use_wizard=False,
    partial_rate=0.1,
    return_rate=0.1,
    progress=None,
    mode="orm",
    days_back=365,
    clone_batch_size=2500,
    **plan_options,
):
    """Build ``n`` complete order-to-cash flows; return a :class:`FlowStats`.

    :param env: Odoo environment (its cursor is committed once per batch
        when ``commit`` is true).
    :param seed: the same seed gives the same flows (customers, products,
        quantities, which flows are partially paid or returned).
    :param batch_size: flows processed together; 1 = one transaction per flow.
    :param master: :class:`MasterData` from :func:`prepare_master_data`;
        created (untimed) when not given.
    :param quiet: run with :data:`QUIET_CONTEXT` (no chatter tracking), for
        bulk generation; ``False`` behaves like a user in the interface.
    :param user: ``res.users`` record the flows run as; default the
        administrator (``base.user_admin``), so access rights and record
        rules apply as they would for a real user, not the superuser.
    :param use_wizard: register payments through the ``account.payment.register``
        wizard, as a user does (one reconciliation per payment); by default
        payments are created, posted and reconciled in one batch.
    :param progress: callable ``(done, n, stats)`` called after each batch.
    :param mode: ``"orm"`` runs every flow through the ORM; ``"clone"`` runs
        :func:`template_plans` through the ORM and copies them in SQL for the
        other ``n - len(templates)`` flows (see :func:`generate_cloned_flows`).
    :param days_back: clone mode: copies are dated up to this many days
        before the templates.
    :param clone_batch_size: clone mode: copies made per batch (and commit).
    :param plan_options: ORM mode: passed to :func:`plan_flows` (lines, quantities).
    """
    if mode not in MODES:
        raise DatagenError(f"unknown generation mode {mode!r}: use one of {', '.join(MODES)}")
    if master is None:
        master = prepare_master_data(env, flows=n, seed=seed)
    if user is None:
        user = env.ref("base.user_admin", raise_if_not_found=False)
    context = dict(env.context, **QUIET_CONTEXT) if quiet else dict(env.context)
    context["allowed_company_ids"] = [master.company_id]
    work_env = env(user=user.id if user else env.uid, su=not user, context=context)
    if mode == "clone":
        return generate_cloned_flows(
            env, work_env, n, master, seed=seed, commit=commit, use_wizard=use_wizard,
            partial_rate=partial_rate, return_rate=return_rate, progress=progress,
            days_back=days_back, batch_size=clone_batch_size,
        )

    rng = random.Random(seed)
    plans = plan_flows(rng, n, master.sizing, start=master.flows_planned,
                       partial_rate=partial_rate, return_rate=return_rate, **plan_options)
    master.flows_planned += n
    stats = FlowStats()
    stock_start = time.perf_counter()
    top_up_stock(env, master, stock_demand(plans))
    if commit:
        env.cr.commit()
    stats.stock_seconds = time.perf_counter() - stock_start

    timer = StageTimer()
    started = time.perf_counter()
    done = 0
    for chunk in batches(plans, batch_size):
        _run_batch(work_env, master, chunk, stats, timer, rng, commit, use_wizard)
        done += len(chunk)
        if progress:
            progress(done, n, stats)
    stats.elapsed = time.perf_counter() - started
    stats.stage_seconds = {s: timer.seconds[s] for s in STAGES if s in timer.seconds}
    return stats


# ---------------------------------------------------------------------------
# Clone mode
# ---------------------------------------------------------------------------

# The template flows: each payment variant, ordered once by a customer
# company (tagged, several lines with a service) and once by one of its
# contacts (untagged, fewer lines).
TEMPLATE_KINDS = ("full", "partial", "return")


def template_plans(rng, sizing, start=0):
    """The :class:`FlowPlan` of each template flow of the clone mode, in a fixed order.

    Returns ``[(kind, plan)]`` with ``kind`` in :data:`TEMPLATE_KINDS`.
    Every stocked line orders at least two units, so that a return takes
    back part of a line. The templates use distinct customers and products.
    """
    shapes = [
        # (contact, stocked lines, service, tag)
        (False, 3, True, True),
        (True, 1, False, False),
    ]
    products = rng.sample(range(sizing.products), min(sizing.products, 4 * len(shapes) * 3))
    customers = rng.sample(range(sizing.customers), min(sizing.customers, 6))
    templates = []
    for kind in TEMPLATE_KINDS:
        for contact, stocked, service, tag in shapes:
            i = len(templates)
            lines = [("stock", products[(i * 4 + k) % len(products)], rng.randint(2, 5))
                     for k in range(stocked)]
            if service and sizing.services:
                lines.append(("service", rng.randrange(sizing.services), 1))
            templates.append((kind, FlowPlan(
                index=start + i,
                customer_index=customers[i % len(customers)],
                contact_index=0 if contact and sizing.contacts_per_customer else -1,
                lines=lines,
                tag_index=rng.randrange(sizing.tags) if tag and sizing.tags else -1,
                partial=kind == "partial",
                returned=kind == "return",
            )))
    return templates


def plan_clones(rng, count, master, templates, kinds, start=0, partial_rate=0.1,
                return_rate=0.1, days_back=365):
    """Decide ``count`` copies of the templates (:class:`flowclone.ClonePlan` objects).

    ``templates`` are the :class:`flowclone.TemplateFlow` read from the
    database and ``kinds`` their kind (:data:`TEMPLATE_KINDS`). Each copy
    picks a template of a kind drawn with the given rates, a customer (and
    one of its contacts when the template was ordered by a contact), that
    customer's salesperson and team, a tag when the template has one, a
    shift of the products in each pool (stocked, services) so that a copy
    sells other products of the same kind, a number of days back, and a
    unique customer reference. Copies of a template with an open invoice are
    kept within that invoice's payment term, so they are not overdue.
    """
    from .flowclone import ClonePlan

    by_kind = {kind: [t for t, k in zip(templates, kinds) if k == kind] for kind in TEMPLATE_KINDS}
    pools = [master.product_ids, master.service_ids]
    position = [{pid: i for i, pid in enumerate(pool)} for pool in pools]
    plans = []
    for i in range(count):
        draw = rng.random()
        kind = "partial" if draw < partial_rate else "return" if draw < partial_rate + return_rate else "full"
        choices = by_kind[kind] or by_kind["full"] or templates
        template = choices[rng.randrange(len(choices))]
        ci = rng.randrange(len(master.customer_ids))
        contacts = master.contact_ids[ci]
        user = master.salesperson_ids[ci]
        products = {}
        for pool, index in zip(pools, position):
            shift = rng.randrange(len(pool)) if pool else 0
            for pid in template.product_ids:
                if pid in index:
                    products[pid] = pool[(index[pid] + shift) % len(pool)]
        limit = days_back if template.max_days_back is None else min(days_back, template.max_days_back)
        plans.append(ClonePlan(
            template=template.index,
            days_back=rng.randint(0, max(0, limit)),
            customer_id=master.customer_ids[ci],
            contact_id=contacts[rng.randrange(len(contacts))] if template.contact_id and contacts else None,
            user_id=user,
            team_id=master.team_of_user.get(user),
            tag_id=master.crm_tag_ids[rng.randrange(len(master.crm_tag_ids))]
            if template.tag_id and master.crm_tag_ids else None,
            client_ref=f"PO-{master.tag}-{start + i + 1:07d}",
            products=products,
        ))
    return plans


def clone_stock_demand(master, templates, plans):
    """Units of each stocked product (by index) the copies take out of stock."""
    index = {pid: i for i, pid in enumerate(master.product_ids)}
    demand = {}
    for plan in plans:
        for product, qty in templates[plan.template].net_stock.items():
            new = plan.products.get(product, product)
            if new in index and qty > 0:
                demand[index[new]] = demand.get(index[new], 0) + qty
    return demand


def generate_cloned_flows(env, work_env, n, master, seed=0, commit=True, use_wizard=False,
                          partial_rate=0.1, return_rate=0.1, progress=None, days_back=365,
                          batch_size=2500):
    """Clone mode of :func:`generate_flows`: template flows by the ORM, copies in SQL.

    ``env`` is the setup environment (stock top-ups, copies), ``work_env``
    the one the template flows run in. Returns a :class:`FlowStats` whose
    ``templates`` and ``clones`` say how the ``n`` flows were made; its
    ``stage_seconds`` hold the ORM stages of the templates and the clone
    stages (:data:`CLONE_STAGES`), and ``elapsed`` everything after the
    master data (stock top-ups included).
    """
    from . import flowclone

    started = time.perf_counter()
    rng = random.Random(f"clone-{seed}")
    stats = FlowStats(mode="clone")
    timer = StageTimer()
    kinds_plans = template_plans(rng, master.sizing, start=master.flows_planned)[:n]
    kinds = [kind for kind, _plan in kinds_plans]
    plans = [plan for _kind, plan in kinds_plans]
    master.flows_planned += len(plans)
    with timer.stage("stock"):
        top_up_stock(env, master, stock_demand(plans))
    with timer.stage("templates"):
        orm_timer = StageTimer()
        _run_batch(work_env, master, plans, stats, orm_timer, rng, commit, use_wizard)
    template_orders = stats.order_ids[:]
    stats.templates = len(template_orders)
    count = n - len(template_orders)
    if progress:
        progress(stats.flows, n, stats)

    cloner = None
    if count > 0:
        setup_env = env(su=True, context=dict(env.context, **QUIET_CONTEXT))
        setup_env = setup_env(context=dict(setup_env.context, allowed_company_ids=[master.company_id]))
        cloner = flowclone.FlowCloner(setup_env, template_orders)
        try:
            with timer.stage("plan"):
                clones = plan_clones(rng, count, master, cloner.templates, kinds,
                                     start=master.flows_planned, partial_rate=partial_rate,
                                     return_rate=return_rate, days_back=days_back)
                master.flows_planned += count
            with timer.stage("stock"):
                top_up_stock(env, master, clone_stock_demand(master, cloner.templates, clones))
                setup_env.flush_all()
            for chunk in batches(clones, batch_size):
                batch_start = time.perf_counter()
                with timer.stage("copy"):
                    order_ids = cloner.clone(chunk)
                if commit:
                    with timer.stage("commit"):
                        env.cr.commit()
                _count_clones(stats, cloner.templates, chunk, order_ids)
                stats.batch_seconds.append(time.perf_counter() - batch_start)
                if progress:
                    progress(stats.flows, n, stats)
            with timer.stage("finish"):
                cloner.finish()
            if commit:
                with timer.stage("commit"):
                    env.cr.commit()
        finally:
            cloner.close()
        stats.rows_copied = dict(cloner.copied)
        stats.uncloned = dict(cloner.uncloned)
        stats.template_of = dict(cloner.template_of)
    stats.elapsed = time.perf_counter() - started
    stats.stock_seconds = timer.seconds.get("stock", 0.0)
    stats.stage_seconds = {s: orm_timer.seconds[s] for s in STAGES if s in orm_timer.seconds}
    stats.stage_seconds.update({f"clone {s}": timer.seconds[s] for s in CLONE_STAGES if s in timer.seconds})
    if cloner:
        stats.stage_seconds.update({f"copy {t}": s for t, s in cloner.timings.items()})
    return stats


def _count_clones(stats, templates, plans, order_ids):
    for plan in plans:
        counts = templates[plan.template].counts
        for name, value in counts.items():
            setattr(stats, name, getattr(stats, name) + value)
    stats.flows += len(plans)
    stats.clones += len(plans)
    stats.order_ids.extend(order_ids)

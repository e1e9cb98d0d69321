#!/usr/bin/env python3
"""Fill a demo database with a year of order-to-cash activity.

``make run`` (and the Docker ``odoo-init`` service) call this once on the
database they create, so that every view of the addons shows real figures on
first login: about twelve months of orders, dated relative to the day the
database is filled, that went through Odoo's own business methods:

- quotations confirmed by the salesperson in charge of the customer, some
  after an approval (approved, rejected, or still pending), some refused
  because the stock was short (the refusal is kept in the quotation's chatter
  and as an activity of the salesperson), some left as quotations, a few
  likely duplicates (flagged by the registry);
- deliveries validated by the warehouse a few days later, some returns;
- invoices and credit notes posted by the accountant, payments on time,
  late, partial, refunds;
- the audit trail of all of it (sealed, and verified), one full encrypted
  backup to a local destination that passed a restore test, and, when their
  addons are installed, sales targets and after-sales service requests with
  ratings;
- one user per role (see ``DEMO_USERS``; the README's "Demo users" table).

Each simulated day runs with the process clock moved to that day
(``freezegun``), so every date Odoo writes (order date, delivery date,
invoice and due dates, payment date, the stages' timestamps, the audit
trail's times, chatter) is the simulated one; only the technical
``create_date`` / ``write_date`` columns keep the real time. The flows come
from the project's data generator (:mod:`benchmarks.datagen`): its plans,
stock top-ups, picking validation, returns and batched payments.

Idempotent: a marker (``ir.config_parameter`` :data:`MARKER`) records the
reference day and the last simulated day committed; a second run resumes an
interrupted fill and does nothing once it is complete.

Usage (what ``make run`` does)::

    python tools/demo_data.py -c .build/run.conf -d sales_documents_demo [--orders 300]

or, from code, ``fill(env, reference_date=..., orders=...)``.
"""

import argparse
import json
import logging
import random
import sys
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import datagen  # noqa: E402

_logger = logging.getLogger(__name__)

MARKER = "sales_documents.demo_data"
DEFAULT_ORDERS = 300
DAYS = 365
# Simulated working hours (UTC): each day starts at 09:00 and the clock ticks.
DAY_START = timedelta(hours=9)

# Login, password, name, role key, groups (XML ids). Documented in README.md.
DEMO_USERS = (
    ("demo.sales1", "demo", "Sophie Seller", "salesperson", ("sales_team.group_sale_salesman",)),
    ("demo.sales2", "demo", "Samuel Seller", "salesperson", ("sales_team.group_sale_salesman",)),
    ("demo.manager", "demo", "Mona Manager", "manager", ("sales_team.group_sale_manager",)),
    ("demo.warehouse", "demo", "Walter Warehouse", "warehouse", ("stock.group_stock_user",)),
    ("demo.accountant", "demo", "Alice Accountant", "accountant",
     ("account.group_account_invoice",)),
    ("demo.auditor", "demo", "Audrey Auditor", "auditor", ("sales_document_audit.group_auditor",)),
    ("demo.security", "demo", "Oscar Officer", "security", ("sales_document_audit.group_security_officer",)),
)
PORTAL_USER = ("demo.portal", "demo", "portal")

CUSTOMERS = (
    "Northwind Traders", "Blue Harbor Furnishings", "Redwood Office Supply", "Lakeside Clinics",
    "Summit Engineering", "Golden Gate Catering", "Maple Leaf Schools", "Harborview Hotels",
    "Pioneer Logistics", "Silverline Studios", "Evergreen Realty", "Crescent Pharmacy",
    "Atlas Construction", "Bright Future Academy", "Oakwood Law Partners", "Riverbend Bakery",
)
CONTACT_FIRST_NAMES = ("Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo")
PRODUCTS = (
    ("Ergonomic office chair", 189.0), ("Standing desk", 549.0), ("Meeting table", 890.0),
    ("Filing cabinet", 149.0), ("Bookshelf", 119.0), ("Desk lamp", 39.5),
    ("Monitor arm", 79.0), ("Whiteboard", 95.0), ("Acoustic panel", 65.0),
    ("Conference phone", 329.0), ("Visitor chair", 89.0), ("Locker unit", 259.0),
    ("Coat stand", 45.0), ("Reception desk", 1290.0), ("Drawer unit", 169.0),
    ("Footrest", 29.0),
)
SERVICES = (("Assembly service", 60.0), ("Office layout consulting", 120.0), ("Extended warranty", 45.0))
TAGS = ("Key account", "Repeat order", "Promotion", "Trade fair", "Online")
SCARCE_PRODUCT = ("Designer lounge chair", 1450.0)
APPROVAL_LIMIT = 4000.0
REFUSED_SUMMARY = "Confirmation refused: not enough stock"
# Steps of a simulated day, in order, and when they start (minutes after 09:00 UTC).
STEP_TIMES = (("review", 20), ("create", 60), ("deliver", 150), ("invoice", 270),
              ("pay", 360), ("return", 420), ("refund", 450))


class DemoDataError(Exception):
    """The demo data could not be made; the message says why."""


# ---------------------------------------------------------------------------
# Plan (pure: decided up front from the seed and the reference day)
# ---------------------------------------------------------------------------


def plan_demo(orders, reference_date, seed=2026, days=DAYS):
    """Decide every flow of the demo: its day and what happens to it, and when.

    Returns a list of dicts, one per flow, in the order the flows are
    created: ``index``, ``plan`` (a :class:`datagen.FlowPlan`), ``day`` (the
    order day), and the day of each later step (``deliver``, ``invoice``,
    ``pay``, ``return``, ``refund``; ``None`` when it has not happened by
    the reference day), plus ``kind``: ``flow`` (a confirmed order),
    ``quotation`` (never confirmed), ``duplicate`` (a second order of the
    same customer and lines, flagged), ``oversell`` (refused for lack of
    stock); ``late`` and ``approval`` (``approved`` / ``rejected`` /
    ``pending`` / ``None``, decided once the amount is known).
    """
    rng = random.Random(f"demo-{seed}")
    sizing = demo_sizing()
    plans = datagen.plan_flows(rng, orders, sizing, max_lines=3, max_qty=4,
                               partial_rate=0.12, return_rate=0.08, tag_rate=0.6)
    start = reference_date - timedelta(days=days - 1)
    order_days = sorted(start + timedelta(days=rng.randrange(days)) for _plan in plans)
    flows = []
    for index, (plan, day) in enumerate(zip(plans, order_days)):
        age = (reference_date - day).days
        draw = rng.random()
        if draw < 0.04 and age > 3:
            kind = "oversell"
        elif draw < 0.07 and age < 45:
            kind = "quotation"
        elif draw < 0.09 and age > 3:
            kind = "duplicate"
        else:
            kind = "flow"
        deliver = day + timedelta(days=rng.randint(1, 6))
        invoice = deliver + timedelta(days=rng.randint(0, 4))
        late = rng.random() < 0.2
        pay = invoice + timedelta(days=rng.randint(35, 80) if late else rng.randint(3, 28))
        ret = deliver + timedelta(days=rng.randint(5, 25)) if plan.returned else None
        refund = ret + timedelta(days=rng.randint(1, 10)) if ret else None

        def upto(step):
            return step if step is not None and step <= reference_date else None

        flows.append({
            "index": index,
            "plan": plan,
            "kind": kind,
            "day": day,
            # Quotations that need an approval are reviewed the next day.
            "review": upto(day + timedelta(days=1)),
            "deliver": upto(deliver),
            "invoice": upto(invoice) if upto(deliver) else None,
            "pay": upto(pay) if upto(invoice) and upto(deliver) else None,
            "return": upto(ret) if upto(deliver) else None,
            "refund": upto(refund) if upto(ret) and upto(invoice) else None,
            "late": late,
            "decision": rng.random(),
        })
    # Even a small demo shows each case once.
    for kind, eligible in (("oversell", lambda f: (reference_date - f["day"]).days > 3),
                           ("duplicate", lambda f: (reference_date - f["day"]).days > 3),
                           ("quotation", lambda f: (reference_date - f["day"]).days < 45)):
        candidates = [f for f in flows if f["kind"] == "flow" and eligible(f)]
        if len(flows) >= 10 and candidates and not any(f["kind"] == kind for f in flows):
            candidates[rng.randrange(len(candidates))]["kind"] = kind
    # The latest order that can wait for an approval is made big enough to
    # need one, and its request is left pending for the manager.
    waiting = [f for f in flows if f["kind"] == "flow" and f["day"] < reference_date]
    if waiting:
        waiting[-1]["hold"] = True
    return flows


def demo_sizing():
    """Master data of the demo: the fixed lists above, two salespeople, two teams."""
    return datagen.Sizing(
        customers=len(CUSTOMERS), contacts_per_customer=1, salespeople=2, teams=2,
        products=len(PRODUCTS), services=len(SERVICES), tags=len(TAGS),
    )


def events_by_day(flows):
    """``{day: [(step, flow)]}`` of every step the flows take, steps in flow order."""
    days = {}
    for flow in flows:
        steps = [("create", flow["day"])]
        if flow["kind"] in ("flow", "duplicate"):
            steps += [(step, flow[step]) for step in ("review", "deliver", "invoice", "pay", "return", "refund")]
        for step, day in steps:
            if day is not None:
                days.setdefault(day, []).append((step, flow))
    return dict(sorted(days.items()))


# ---------------------------------------------------------------------------
# Marker
# ---------------------------------------------------------------------------


def read_marker(env):
    """The fill's marker (dict) or None when the database was never filled."""
    raw = env["ir.config_parameter"].sudo().get_param(MARKER)
    return json.loads(raw) if raw else None


def _write_marker(env, marker):
    env["ir.config_parameter"].sudo().set_param(MARKER, json.dumps(marker, sort_keys=True))


# ---------------------------------------------------------------------------
# Clock
# ---------------------------------------------------------------------------


@contextmanager
def moved_clock(day, minutes=0):
    """Run the block with this process's clock at ``day`` 09:00 UTC (plus ``minutes``), ticking."""
    from freezegun import freeze_time

    moment = datetime.combine(day, datetime.min.time()) + DAY_START + timedelta(minutes=minutes)
    with freeze_time(moment, tick=True):
        yield


# ---------------------------------------------------------------------------
# Users and master data
# ---------------------------------------------------------------------------


def ensure_users(env):
    """Create (or find) the demo users; returns ``{login: res.users}``."""
    Users = env["res.users"].with_context(**datagen.QUIET_CONTEXT)
    company = env.company
    users = {}
    for login, password, name, _role, groups in DEMO_USERS:
        user = Users.with_context(active_test=False).search([("login", "=", login)], limit=1)
        group_ids = [env.ref(xmlid).id for xmlid in groups if env.ref(xmlid, raise_if_not_found=False)]
        if not user:
            user = Users.create({
                "name": name,
                "login": login,
                "password": password,
                "email": f"{login}@example.com",
                "company_id": company.id,
                "company_ids": [(6, 0, [company.id])],
                "groups_id": [(6, 0, group_ids)],
                "tz": "UTC",
            })
        users[login] = user
    return users


def ensure_portal_user(env, partner):
    """A portal login for ``partner`` (a customer's contact)."""
    login, password, _role = PORTAL_USER
    Users = env["res.users"].with_context(**datagen.QUIET_CONTEXT)
    user = Users.with_context(active_test=False).search([("login", "=", login)], limit=1)
    if not user:
        user = Users.create({
            "login": login,
            "password": password,
            "partner_id": partner.id,
            "groups_id": [(6, 0, [env.ref("base.group_portal").id])],
            "company_id": env.company.id,
            "company_ids": [(6, 0, [env.company.id])],
        })
    return user


def prepare_master(env, users, seed=2026):
    """Customers, contacts, products, services, tags, teams, shipping, rules: a :class:`datagen.MasterData`."""
    env = env(context=dict(env.context, **datagen.QUIET_CONTEXT))
    rng = random.Random(f"demo-master-{seed}")
    company = env.company
    bank, method_line = datagen.ensure_accounting(env, company)
    warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
    if not warehouse:
        raise DemoDataError(f"company {company.name} has no warehouse")
    sellers = [users["demo.sales1"], users["demo.sales2"]]
    manager = users["demo.manager"]
    teams = env["crm.team"].create([
        {"name": "Direct Sales", "company_id": company.id, "user_id": manager.id,
         "member_ids": [(6, 0, sellers[0].ids)]},
        {"name": "Key Accounts", "company_id": company.id, "user_id": manager.id,
         "member_ids": [(6, 0, sellers[1].ids)]},
    ])
    for seller, team in zip(sellers, teams):
        seller.sale_team_id = team
    term = env.ref("account.account_payment_term_30days", raise_if_not_found=False)
    if not term:
        raise DemoDataError("the 30 days payment term of Odoo (account.account_payment_term_30days) is missing")
    customers = env["res.partner"].create([
        {
            "name": name,
            "is_company": True,
            "email": f"purchasing@{name.lower().replace(' ', '-')}.example.com",
            "street": f"{rng.randint(1, 250)} Commerce Street",
            "city": "Springfield",
            "user_id": sellers[i % 2].id,
            "property_payment_term_id": term.id,
            "customer_rank": 1,
        }
        for i, name in enumerate(CUSTOMERS)
    ])
    contacts = env["res.partner"].create([
        {
            "name": f"{CONTACT_FIRST_NAMES[i % len(CONTACT_FIRST_NAMES)]} {customer.name.split()[0]}",
            "parent_id": customer.id,
            "type": "contact",
            "email": f"{CONTACT_FIRST_NAMES[i % len(CONTACT_FIRST_NAMES)].lower()}@"
                     f"{customer.name.lower().replace(' ', '-')}.example.com",
        }
        for i, customer in enumerate(customers)
    ])
    products = env["product.product"].create([
        {
            "name": name,
            "default_code": f"DEMO-{i + 1:03d}",
            "type": "consu",
            "is_storable": True,
            "invoice_policy": "delivery",
            "list_price": price,
            "standard_price": round(price * 0.55, 2),
        }
        for i, (name, price) in enumerate(PRODUCTS)
    ])
    services = env["product.product"].create([
        {"name": name, "type": "service", "invoice_policy": "order", "list_price": price}
        for name, price in SERVICES
    ])
    tags = env["crm.tag"].create([{"name": name} for name in TAGS])
    carrier_product = env["product.product"].create({
        "name": "Standard delivery", "type": "service", "sale_ok": False, "purchase_ok": False,
        "list_price": 0.0, "invoice_policy": "order",
    })
    carrier = env["delivery.carrier"].create({
        "name": "Standard delivery", "delivery_type": "fixed", "fixed_price": 0.0,
        "product_id": carrier_product.id,
    })
    scarce = env["product.product"].create({
        "name": SCARCE_PRODUCT[0], "default_code": "DEMO-SCARCE", "type": "consu", "is_storable": True,
        "invoice_policy": "delivery", "list_price": SCARCE_PRODUCT[1],
        "standard_price": round(SCARCE_PRODUCT[1] * 0.6, 2),
    })
    env["stock.quant"]._update_available_quantity(scarce, warehouse.lot_stock_id, 2)
    env["sales.document.approval.rule"].create({
        "name": "Orders above 4,000",
        "min_amount": APPROVAL_LIMIT,
        "company_id": company.id,
    })
    # A confirmation that asks for more than the free stock is refused.
    company.sales_oversell_mode = "block"
    master = datagen.MasterData(
        tag="demo",
        sizing=demo_sizing(),
        company_id=company.id,
        warehouse_id=warehouse.id,
        stock_location_id=warehouse.lot_stock_id.id,
        customer_ids=customers.ids,
        contact_ids=[[contact.id] for contact in contacts],
        salesperson_ids=[sellers[i % 2].id for i in range(len(customers))],
        team_of_user={seller.id: team.id for seller, team in zip(sellers, teams)},
        product_ids=products.ids,
        service_ids=services.ids,
        crm_tag_ids=tags.ids,
        carrier_id=carrier.id,
        payment_term_id=term.id,
        bank_journal_id=bank.id,
        payment_method_line_id=method_line.id,
    )
    return master, scarce


def master_to_json(master, scarce):
    data = {k: v for k, v in master.__dict__.items() if k not in ("sizing",)}
    data["scarce_product_id"] = scarce.id
    return data


def master_from_json(data):
    data = dict(data)
    scarce_id = data.pop("scarce_product_id")
    data["team_of_user"] = {int(k): v for k, v in data["team_of_user"].items()}
    return datagen.MasterData(sizing=demo_sizing(), **data), scarce_id


# ---------------------------------------------------------------------------
# The simulated year
# ---------------------------------------------------------------------------


class Simulation:
    """Runs the planned flows day by day, each step as the user whose job it is."""

    def __init__(self, env, master, scarce_id, users, flows, reference_date):
        self.env = env(context=dict(env.context, **datagen.QUIET_CONTEXT,
                                    allowed_company_ids=[master.company_id]))
        self.master = master
        self.scarce_id = scarce_id
        self.users = users
        self.flows = flows
        self.reference_date = reference_date
        self.rng = random.Random(f"demo-steps-{reference_date.isoformat()}")
        self._orders = {}

    # Environments of each role.
    def as_user(self, login, su=False):
        return self.env(user=self.users[login].id, su=su)


    def seller_login(self, flow):
        uid = self.master.salesperson_ids[flow["plan"].customer_index]
        return next(login for login, user in self.users.items() if user.id == uid)

    def reference(self, flow, suffix=""):
        return f"DEMO-{flow['index'] + 1:05d}{suffix}"

    def order(self, flow):
        """The order of ``flow`` (an empty recordset before it is created)."""
        if flow["index"] not in self._orders:
            found = self.env["sale.order"].with_context(active_test=False).search(
                [("client_order_ref", "=", self.reference(flow)), ("company_id", "=", self.master.company_id)],
                limit=1)
            if not found:
                return found
            self._orders[flow["index"]] = found.id
        return self.env["sale.order"].browse(self._orders[flow["index"]])

    def run_step(self, step, flows):
        """Run one step of a day for ``flows``, as the user whose job it is."""
        getattr(self, f"_step_{step}")(flows)
        self.env.flush_all()

    # -- steps -------------------------------------------------------------

    def _step_create(self, flows):
        for flow in flows:
            if self.order(flow):
                continue  # made before an interruption
            login = self.seller_login(flow)
            env = self.as_user(login)
            vals = datagen._order_vals(self.master, flow["plan"], True)
            vals["client_order_ref"] = self.reference(flow)
            if flow["kind"] == "oversell":
                vals["order_line"] = [(0, 0, {"product_id": self.scarce_id, "product_uom_qty": 3})]
            if flow.get("hold"):
                # Above the approval rule's amount, with the most expensive product.
                price, product = max(zip((p for _n, p in PRODUCTS), self.master.product_ids))
                vals["order_line"] = vals["order_line"] + [
                    (0, 0, {"product_id": product, "product_uom_qty": int(APPROVAL_LIMIT // price) + 1})]
            order = env["sale.order"].create(vals)
            self._orders[flow["index"]] = order.id
            if flow["kind"] == "quotation":
                order.action_quotation_sent()
                continue
            if flow["kind"] == "oversell":
                self._refuse(env, order)
                continue
            if flow["kind"] == "duplicate":
                copy_vals = dict(vals, client_order_ref=self.reference(flow, "-B"))
                duplicate = env["sale.order"].create(copy_vals)
                duplicate.action_quotation_sent()
            if order.approval_state == "required":
                order.action_request_approval()
                continue
            order.action_confirm()

    def _refuse(self, env, order):
        """Try to confirm; the stock guard refuses: keep the refusal on the quotation."""
        from odoo.exceptions import UserError, ValidationError

        try:
            with env.cr.savepoint():
                order.action_confirm()
        except (UserError, ValidationError) as exc:
            message = exc.args[0] if exc.args else str(exc)
            order.message_post(body=f"Confirmation refused: {message}")
            order.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=REFUSED_SUMMARY,
                note=message,
                user_id=order.user_id.id,
            )
        else:
            raise DemoDataError(f"{order.name} was confirmed although its stock is short")

    def _step_review(self, flows):
        day = date.today()  # the simulated day (moved clock)
        manager = self.as_user("demo.manager")
        for flow in flows:
            order = self.order(flow)
            if not order or order.approval_state != "pending":
                continue
            # The last week's requests are still waiting, and the one kept pending.
            if (self.reference_date - day).days < 7 or flow.get("hold"):
                continue
            order = order.with_env(manager)
            if flow["decision"] < 0.2:
                order.action_reject("Discount and amount above what we accept for this customer.")
                continue
            order.action_approve()
            seller = order.with_env(self.as_user(self.seller_login(flow)))
            if seller.state in ("draft", "sent"):
                seller.action_confirm()

    def _confirmed(self, flows):
        orders = self.env["sale.order"].browse([self.order(f).id for f in flows if self.order(f)])
        return orders.filtered(lambda o: o.state == "sale")

    def _step_deliver(self, flows):
        env = self.as_user("demo.warehouse")
        orders = self._confirmed(flows).with_env(env)
        pickings = orders.picking_ids.filtered(
            lambda p: p.state not in ("done", "cancel") and p.picking_type_code == "outgoing")
        datagen._validate_pickings(pickings, "deliveries")

    def _step_invoice(self, flows):
        env = self.as_user("demo.accountant")
        orders = self._confirmed(flows).filtered(lambda o: o.invoice_status == "to invoice").with_env(env)
        if orders:
            invoices = orders._create_invoices(grouped=True)
            invoices.action_post()

    def _step_pay(self, flows):
        env = self.as_user("demo.accountant")
        invoices = env["account.move"]
        amounts = {}
        for flow in flows:
            order = self.order(flow)
            if not order:
                continue
            open_invoices = order.with_env(env).invoice_ids.filtered(
                lambda m: m.move_type == "out_invoice" and m.state == "posted"
                and m.payment_state in ("not_paid", "partial"))
            for invoice in open_invoices:
                invoices |= invoice
                if flow["plan"].partial:
                    amounts[invoice.id] = invoice.currency_id.round(
                        invoice.amount_residual * self.rng.uniform(0.3, 0.7))
        datagen._pay_in_batch(env, invoices, self.master.bank_journal_id, amounts)

    def _step_return(self, flows):
        env = self.as_user("demo.warehouse")
        orders = self._confirmed(flows).with_env(env)
        delivered = orders.picking_ids.filtered(
            lambda p: p.state == "done" and p.picking_type_code == "outgoing")
        returns = datagen._return_pickings(env, delivered, self.rng)
        datagen._validate_pickings(returns, "returns")

    def _step_refund(self, flows):
        env = self.as_user("demo.accountant")
        orders = self._confirmed(flows).filtered(lambda o: o.invoice_status == "to invoice").with_env(env)
        if not orders:
            return
        credit_notes = orders._create_invoices(grouped=True, final=True).filtered(
            lambda m: m.move_type == "out_refund")
        credit_notes.action_post()
        paying = self.as_user("demo.accountant")
        datagen._pay_in_batch(paying, credit_notes.with_env(paying), self.master.bank_journal_id)


# ---------------------------------------------------------------------------
# Targets and service requests (when their addons are installed)
# ---------------------------------------------------------------------------


def _month_starts(reference_date, months=12):
    first = reference_date.replace(day=1)
    starts = []
    for _i in range(months):
        starts.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return sorted(starts)


def _month_end(start):
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def make_targets(env, master, users, reference_date):
    """Monthly targets per salesperson (confirmed basis) and per team (invoiced basis).

    Each target is the salesperson's (team's) average monthly confirmed
    amount over the year, raised by a tenth and rounded: some months beat it,
    some fall behind. Returns the number of targets created.
    """
    Target = env.get("sales.target")
    if Target is None:
        return 0
    sellers = [users["demo.sales1"], users["demo.sales2"]]
    env.cr.execute(
        "SELECT user_id, team_id, sum(amount_untaxed) FROM sale_order "
        "WHERE state = 'sale' AND company_id = %s AND user_id = ANY(%s) GROUP BY user_id, team_id",
        [master.company_id, [u.id for u in sellers]],
    )
    per_user, per_team = {}, {}
    for user_id, team_id, amount in env.cr.fetchall():
        per_user[user_id] = per_user.get(user_id, 0.0) + float(amount or 0)
        if team_id:
            per_team[team_id] = per_team.get(team_id, 0.0) + float(amount or 0)

    def monthly(total):
        return max(1000.0, round(total / 12 * 1.1 / 500) * 500)

    vals_list = []
    for start in _month_starts(reference_date):
        end = _month_end(start)
        for seller in sellers:
            vals_list.append({
                "user_id": seller.id, "team_id": master.team_of_user.get(seller.id),
                "date_from": start, "date_to": end, "basis": "confirmed",
                "amount_target": monthly(per_user.get(seller.id, 0.0)),
            })
        for team_id in sorted(set(master.team_of_user.values())):
            vals_list.append({
                "team_id": team_id, "date_from": start, "date_to": end, "basis": "invoiced",
                "amount_target": monthly(per_team.get(team_id, 0.0)),
            })
    if "name" in Target._fields and Target._fields["name"].required:
        for vals in vals_list:
            vals["name"] = f"{vals['date_from']:%B %Y}"
    targets = Target.create(vals_list)
    # Measured now rather than at the next nightly run, for the first login.
    if hasattr(targets, "action_recompute"):
        targets.action_recompute()
    return len(targets)


def _rating_value(field, score):
    """``score`` (1 to 5) in the rating field's own terms."""
    if field.type in ("integer", "float", "monetary"):
        return score
    if field.type == "selection" and isinstance(field.selection, (list, tuple)):
        keys = [key for key, _label in field.selection]
        numeric = [key for key in keys if str(key).isdigit()]
        if numeric:
            return min(numeric, key=lambda key: abs(int(key) - score))
        return keys[min(len(keys) - 1, max(0, round((score - 1) / 4 * (len(keys) - 1))))]
    return None


FEEDBACK = {
    5: "Quick and friendly, thank you.",
    4: "Solved, it took a little while.",
    3: "Fine in the end, but I had to call twice.",
    2: "Slow answer.",
    1: "Still not solved as I wanted.",
}
REQUEST_TEXT = "About the delivery of {order}: please have a look."


def make_service_requests(env, sim, flows):
    """Service requests about delivered orders, most closed and rated; returns how many were made.

    Ratings go through Odoo's rating mechanism when the model has it (the way
    a customer rates from the portal), else into a writable ``rating`` field.
    """
    Request = env.get("sales.service.request")
    if Request is None:
        return 0
    rng = random.Random(f"demo-service-{sim.reference_date.isoformat()}")
    fields_ = Request._fields
    types = fields_["request_type"]._description_selection(env) if "request_type" in fields_ else []
    type_keys = [key for key, _label in types]
    rating_field = fields_.get("rating")
    writable_rating = rating_field is not None and (not rating_field.compute or rating_field.inverse)
    done_stage = None
    if "stage_id" in fields_:
        Stage = env[fields_["stage_id"].comodel_name]
        done_stage = Stage.search([("is_done", "=", True)], limit=1) if "is_done" in Stage._fields else None
    eligible = [f for f in flows if f["deliver"] and f["kind"] in ("flow", "duplicate")]
    chosen = rng.sample(eligible, min(len(eligible), max(1, round(len(eligible) * 0.12))))
    settled = [f for f in eligible if (sim.reference_date - f["deliver"]).days > 20]
    if settled and not any((sim.reference_date - f["deliver"]).days > 20 for f in chosen):
        chosen.append(settled[rng.randrange(len(settled))])  # at least one closed and rated
    made = 0
    for flow in sorted(chosen, key=lambda f: f["index"]):
        order = sim.order(flow)
        if not order or order.state != "sale":
            continue
        day = flow["deliver"] + timedelta(days=rng.randint(1, 12))
        if day > sim.reference_date:
            continue
        with moved_clock(day, minutes=rng.randint(0, 420)):
            vals = {"partner_id": order.partner_id.id, "sale_order_id": order.id, "user_id": order.user_id.id}
            if type_keys:
                vals["request_type"] = type_keys[rng.randrange(len(type_keys))]
            if "description" in fields_:
                vals["description"] = REQUEST_TEXT.format(order=order.name)
            request = Request.create(vals)
            env.flush_all()
        made += 1
        closed = day + timedelta(days=rng.randint(1, 6))
        if closed > sim.reference_date:
            continue
        with moved_clock(closed, minutes=rng.randint(0, 420)):
            if done_stage:
                request.write({"stage_id": done_stage.id})
            score = rng.choices([5, 4, 3, 2, 1], weights=[45, 30, 12, 8, 5])[0]
            if hasattr(request, "rating_apply") and not writable_rating:
                token = request._rating_get_access_token(partner=order.partner_id)
                request.rating_apply(score, token=token, feedback=FEEDBACK[score])
            elif writable_rating:
                value = _rating_value(rating_field, score)
                if value is not None:
                    request.write({"rating": value})
            env.flush_all()
    return made


# ---------------------------------------------------------------------------
# Audit trail and backup
# ---------------------------------------------------------------------------


def seal_and_verify(env):
    """Seal the audit trail and verify it; returns ``verify_integrity``'s answer (or None)."""
    Log = env.get("sales.document.audit.log")
    if Log is None:
        return None
    Log.sudo()._cron_seal()
    env.flush_all()
    result = Log.sudo().verify_integrity()
    if not result.get("ok"):
        raise DemoDataError(f"the audit trail does not verify after the fill: {result}")
    return result


def backup_and_restore_test(env):
    """One full encrypted backup to a local destination, and its restore test.

    Needs ``sales_backup_public_key`` and ``sales_backup_private_key`` in the
    server configuration (``make run`` puts a demo key pair there). Returns
    ``(backup, restore test)`` or ``None`` when no key is configured.
    """
    from odoo.tools import config

    Destination = env.get("sales.document.backup.destination")
    if Destination is None or not config.get("sales_backup_public_key") or not config.get("sales_backup_private_key"):
        return None
    directory = Path(config["data_dir"]) / "backups" / env.cr.dbname
    directory.mkdir(parents=True, exist_ok=True)
    destination = Destination.search([("kind", "=", "local"), ("path", "=", str(directory))], limit=1)
    if not destination:
        destination = Destination.create({"name": "Local backups (demo)", "code": "demo_local",
                                          "kind": "local", "path": str(directory)})
    env.cr.commit()
    # Run the backup in this process (not detached): the fill waits for it.
    previous = config.options.get("sales_backup_detached")
    config.options["sales_backup_detached"] = False
    try:
        action = destination.action_backup_now()
    finally:
        if previous is None:
            config.options.pop("sales_backup_detached", None)
        else:
            config.options["sales_backup_detached"] = previous
    backup = env["sales.document.backup"].browse(action["res_id"])
    if backup.state != "done":
        raise DemoDataError(f"the demo backup failed: {backup.error}")
    env.cr.commit()
    test = env["sales.document.backup.restore.test"].browse(backup.action_restore_test()["res_id"])
    if test.state != "passed":
        raise DemoDataError(f"the restore test of the demo backup failed: {test.report}")
    return backup, test


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------


def _say(progress, message):
    if progress:
        progress(message)


def fill(env, reference_date=None, orders=DEFAULT_ORDERS, seed=2026, commit=True, backup=True,
         progress=None):
    """Fill the database of ``env`` with a year of demo activity ending on ``reference_date``.

    :param reference_date: the last simulated day (default: today); every date
        is relative to it.
    :param orders: number of orders (quotations included) over the year.
    :param commit: commit after each simulated day (``False`` in tests).
    :param backup: make the full backup and its restore test at the end.
    :param progress: callable receiving one line of text now and then.
    :returns: a dict summing up what was made, or ``None`` when the database
        was already filled (nothing is done then).
    """
    env = env(su=True, context=dict(env.context, **datagen.QUIET_CONTEXT))
    marker = read_marker(env)
    if marker and marker.get("complete"):
        _say(progress, f"demo data already in {env.cr.dbname} (up to {marker['reference']}): nothing to do")
        return None
    started = real_seconds()
    if marker:
        reference = date.fromisoformat(marker["reference"])
        orders, seed = marker["orders"], marker["seed"]
        users = ensure_users(env)
        master, scarce_id = master_from_json(marker["master"])
        _say(progress, f"resuming the demo data after {marker.get('done') or 'the set-up'}")
    else:
        reference = reference_date or date.today()
        flows = plan_demo(orders, reference, seed)
        with moved_clock(flows[0]["day"] if flows else reference):
            users = ensure_users(env)
            master, scarce = prepare_master(env, users, seed)
            datagen.top_up_stock(env, master, {
                p: 2 * q for p, q in datagen.stock_demand([f["plan"] for f in flows]).items()}, minimum=20)
            env.flush_all()
        scarce_id = scarce.id
        marker = {"reference": reference.isoformat(), "orders": orders, "seed": seed,
                  "master": master_to_json(master, scarce), "done": None, "phases": []}
        _write_marker(env, marker)
        if commit:
            env.cr.commit()
    flows = plan_demo(orders, reference, seed)
    sim = Simulation(env, master, scarce_id, users, flows, reference)
    summary = {"reference": reference.isoformat()}
    # One clock moved for the whole year: freezegun patches every loaded
    # module when it starts, the clocks nested in it only move the time.
    with moved_clock(reference):
        _simulate(env, sim, marker, commit, progress, started)
        phases = marker.setdefault("phases", [])
        if "extras" not in phases:
            summary["targets"] = make_targets(env, master, users, reference)
            summary["service_requests"] = make_service_requests(env, sim, flows)
            ensure_portal_user(env, env["res.partner"].browse(master.contact_ids[0][0]))
            phases.append("extras")
            _write_marker(env, marker)
            if commit:
                env.cr.commit()
    if "seal" not in phases:
        _say(progress, "demo data: sealing and verifying the audit trail")
        verdict = seal_and_verify(env)
        summary["audit"] = verdict
        phases.append("seal")
        _write_marker(env, marker)
        if commit:
            env.cr.commit()
    if backup and commit and "backup" not in phases:
        _say(progress, "demo data: full backup and restore test")
        made = backup_and_restore_test(env)
        summary["backup"] = made and {"backup": made[0].id, "restore_test": made[1].id}
        if made:
            phases.append("backup")
    marker["complete"] = True
    marker["seconds"] = round(real_seconds() - started, 1)
    _write_marker(env, marker)
    if commit:
        env.cr.commit()
    summary.update(counts(env))
    summary["seconds"] = marker["seconds"]
    _say(progress, "demo data: done in {seconds:.0f} s: {orders} orders, {deliveries} deliveries, "
                   "{returns} returns, {invoices} invoices, {credit_notes} credit notes, {payments} payments, "
                   "approvals {approvals}, {refused} refused for stock, {duplicates} likely duplicates"
                   .format(**summary))
    return summary


def _simulate(env, sim, marker, commit, progress, started):
    """Run every step of every simulated day not done yet, committing each (when ``commit``)."""
    done = marker.get("done")
    days = events_by_day(sim.flows)
    last_report = real_seconds()
    for number, (day, steps) in enumerate(days.items(), 1):
        for step, minutes in STEP_TIMES:
            flows_of_step = [flow for name, flow in steps if name == step]
            position = f"{day.isoformat()} {minutes:04d}"
            if not flows_of_step or (done and position <= done):
                continue
            # Each step at its own time of the day, committed on its own: the
            # audit trail takes its snapshot (and its time) at the commit.
            with moved_clock(day, minutes + sim.rng.randint(0, 40)):
                sim.run_step(step, flows_of_step)
                marker["done"] = position
                _write_marker(env, marker)
                env.flush_all()
                if commit:
                    env.cr.commit()
        if real_seconds() - last_report > 15 or number == len(days):
            last_report = real_seconds()
            _say(progress, f"demo data: {day} ({number}/{len(days)} days), {real_seconds() - started:.0f} s")


def real_seconds():
    """A performance counter that the moved clock leaves alone."""
    try:
        from freezegun.api import real_perf_counter
    except ImportError:  # pragma: no cover - freezegun is one of Odoo's requirements
        return time.perf_counter()
    return real_perf_counter()


def counts(env):
    """What the demo company holds, by kind of document."""
    env = env(su=True)
    company = env.company.id
    picking = env["stock.picking"].with_context(active_test=False)
    move = env["account.move"]
    return {
        "orders": env["sale.order"].with_context(active_test=False).search_count(
            [("company_id", "=", company)]),
        "deliveries": picking.search_count([("sale_id", "!=", False), ("picking_type_code", "=", "outgoing"),
                                            ("state", "=", "done")]),
        "returns": picking.search_count([("sale_id", "!=", False), ("picking_type_code", "=", "incoming"),
                                         ("state", "=", "done")]),
        "invoices": move.search_count([("move_type", "=", "out_invoice"), ("state", "=", "posted")]),
        "credit_notes": move.search_count([("move_type", "=", "out_refund"), ("state", "=", "posted")]),
        "payments": env["account.payment"].search_count([("partner_type", "=", "customer"),
                                                         ("state", "!=", "draft")]),
        "approvals": dict(env["sale.order"]._read_group(
            [("approval_decision", "!=", False)], ["approval_decision"], ["__count"])),
        "refused": env["mail.activity"].search_count(
            [("res_model", "=", "sale.order"), ("summary", "=", REFUSED_SUMMARY)]),
        "duplicates": env["sale.order"].search_count([("is_possible_duplicate", "=", True)]),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file")
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS,
                        help=f"orders over the year (default {DEFAULT_ORDERS})")
    parser.add_argument("--reference-date", type=date.fromisoformat, default=None,
                        help="last simulated day, YYYY-MM-DD (default: today)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-backup", action="store_true", help="skip the full backup and its restore test")
    args = parser.parse_args(argv)
    if args.orders < 1:
        parser.error("--orders must be at least 1")

    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.tools import config

    config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    odoo.service.server.load_server_wide_modules()
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        try:
            fill(env, reference_date=args.reference_date, orders=args.orders, seed=args.seed,
                 backup=not args.no_backup, progress=lambda line: print(f"==> {line}", flush=True))
        except DemoDataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

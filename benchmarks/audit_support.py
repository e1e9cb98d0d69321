"""Helpers of the audit overhead benchmark (``bench_audit.py``).

The benchmark compares, in one run and on databases built the same way:

* auditing off: a database with ``sales_document_registry`` only;
* auditing on: the same plus ``sales_document_audit``;
* OCA ``auditlog`` in ``full`` and in ``fast`` mode on the same models
  (rules created with :func:`subscribe_oca_auditlog`).

on the order-to-cash flow of ``benchmarks.datagen.generate_flows`` (200
orders) and on :func:`write_one_field` (one field written on 200 orders).
Nothing here runs at import time; import this module only once Odoo is
loaded (``BenchSession.registry``).
"""

import time
from contextlib import contextmanager

from lxml import etree

from odoo.tools import SQL

# The capture (replaced by ``one_insert_per_transaction``), and the models it
# captures, as the addon itself declares them.
from odoo.addons.sales_document_audit.models.sales_document_audit_mixin import (
    SalesDocumentAuditMixin,
)
from odoo.addons.sales_document_audit.models.sales_document_audit_rule import AUDITED_MODELS


def write_one_field(env, orders, value="bench", specification=None):
    """Write ``client_order_ref`` on each of ``orders``, one transaction each.

    ``value`` must differ between calls on the same orders: the registry
    refuses one customer reference on two orders of a customer.

    Each write is committed on its own, as a user saving a form does, so
    the commit (and with it the audit flush) is part of every timing. With
    ``specification`` (see :func:`form_specification`) each write is the
    form's save: ``web_save``, which reads the order back for the form.
    Returns the elapsed seconds of each write.
    """
    seconds = []
    for index, order in enumerate(orders):
        vals = {"client_order_ref": f"{value}-{index}"}
        start = time.perf_counter()
        if specification is None:
            order.write(vals)
        else:
            order.web_save(vals, specification)
        env.cr.commit()  # pylint: disable=invalid-commit
        seconds.append(time.perf_counter() - start)
    return seconds


def form_specification(env, model="sale.order"):
    """What the web client reads back when ``env.user`` saves a form of ``model``.

    The fields of the form view as it is served to that user: a related
    record with its display name; the records of a one2many or many2many
    with the fields of the list the form embeds for them (with their
    related records' display names), or their display name alone.
    """
    views = env[model].get_views([(False, "form")])
    arch = etree.fromstring(views["views"]["form"]["arch"])
    described = views["models"]

    def field_nodes(node):
        # The fields of ``node``, not those of the lists embedded in them.
        for child in node:
            if child.tag == "field":
                yield child
            else:
                yield from field_nodes(child)

    def spec_of(node, model_name):
        spec = {}
        model_fields = described.get(model_name, {}).get("fields", {})
        for field_node in field_nodes(node):
            name = field_node.get("name")
            field = model_fields.get(name)
            if field is None or name in spec:
                continue
            if field["type"] == "many2one":
                spec[name] = {"fields": {"display_name": {}}}
            elif field["type"] in ("one2many", "many2many"):
                embedded = field_node.find("list")
                sub = spec_of(embedded, field["relation"]) if embedded is not None else {}
                spec[name] = {"fields": sub or {"display_name": {}}}
            else:
                spec[name] = {}
        return spec

    return spec_of(arch, model)


@contextmanager
def one_insert_per_transaction(company_id):
    """Replace, in this process, the audit capture by the least any capture costs.

    Inside the block an audited write buffers nothing: its transaction inserts
    one constant audit row (of ``company_id``, with the record written)
    before commit, and does no other work. It measures the floor of the
    single-write figure, the statement every audited transaction sends; it is
    a benchmark device only.
    """
    key = "audit_bench.floor"
    original = SalesDocumentAuditMixin._audit_capture

    def capture(self, operation, written=frozenset()):
        cr = self.env.cr
        if key in cr.precommit.data:
            return
        cr.precommit.data[key] = True
        params = (company_id, self.env.uid, self._name, self.ids[0], operation)

        def insert():
            cr.precommit.data.pop(key, None)
            cr.execute(SQL(
                """INSERT INTO sales_document_audit_log
                       (company_id, user_id, timestamp, res_model, res_id, operation, device, changes, active)
                   VALUES (%s, %s, now() AT TIME ZONE 'UTC', %s, %s, %s, 'system', '{}', TRUE)""",
                *params,
            ))

        cr.precommit.add(insert)

    SalesDocumentAuditMixin._audit_capture = capture
    try:
        yield
    finally:
        SalesDocumentAuditMixin._audit_capture = original


def subscribe_oca_auditlog(env, log_type="full", models=AUDITED_MODELS):
    """Create (or reuse) and subscribe OCA ``auditlog`` rules for ``models``.

    ``log_type`` is ``full`` or ``fast``. Reads and exports are not logged
    (the audit addon does not log reads on these models either, only form
    opens). Subscribing patches the models of the registry in this process.
    """
    Rule = env["auditlog.rule"].with_context(active_test=False)
    rules = Rule.browse()
    for model_name in models:
        model = env["ir.model"]._get(model_name)
        vals = {
            "log_type": log_type,
            "log_read": False,
            "log_write": True,
            "log_create": True,
            "log_unlink": True,
            "log_export_data": False,
        }
        rule = Rule.search([("model_id", "=", model.id)], limit=1)
        if rule:
            # A reused benchmark database already has its rules.
            rule.write(vals)
        else:
            rule = Rule.create({"name": f"bench {model_name}", "model_id": model.id, **vals})
        rules |= rule
    rules.filtered(lambda rule: rule.state != "subscribed").subscribe()
    env.cr.commit()  # pylint: disable=invalid-commit
    return rules


def rows_since(env, table, last_id=0):
    """Number of rows of ``table`` with an id above ``last_id``, and the new last id."""
    env.flush_all()
    env.cr.execute(SQL(
        "SELECT count(*), COALESCE(max(id), 0) FROM %s WHERE id > %s", SQL.identifier(table), last_id
    ))
    count, new_last = env.cr.fetchone()
    return count, max(new_last, last_id)


def unsealed_rows(env):
    """Number of audit rows the sealing job has not sealed yet."""
    env.flush_all()
    env.cr.execute(SQL("SELECT count(*) FROM sales_document_audit_log WHERE hash IS NULL"))
    return env.cr.fetchone()[0]


def seal_all(env):
    """Seal everything pending (the scheduled job's work), timed."""
    start = time.perf_counter()
    env["sales.document.audit.log"]._cron_seal()
    env.cr.commit()  # pylint: disable=invalid-commit
    return time.perf_counter() - start

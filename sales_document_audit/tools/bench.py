"""Helpers for the audit overhead benchmark (used from ``benchmarks/``).

The benchmark compares, in one run and on databases built the same way:

* auditing off: a database with ``sales_document_registry`` only;
* this addon: the same plus ``sales_document_audit``;
* OCA ``auditlog`` in ``full`` and in ``fast`` mode on the same models
  (rules created with :func:`subscribe_oca_auditlog`).

on the order-to-cash flow of ``benchmarks.datagen.generate_flows`` (200
orders) and on :func:`write_one_field` (one field written on 200 orders).
Nothing here runs at import time.
"""

import time

AUDITED_MODELS = (
    "sale.order",
    "sale.order.line",
    "stock.picking",
    "stock.move",
    "account.move",
    "account.move.line",
    "account.payment",
)


def write_one_field(env, orders, value="bench"):
    """Write ``client_order_ref`` on ``orders`` one by one, then commit.

    Returns the elapsed seconds, the commit (and so the audit flush)
    included.
    """
    start = time.perf_counter()
    for index, order in enumerate(orders):
        order.write({"client_order_ref": f"{value}-{index}"})
    env.cr.commit()  # pylint: disable=invalid-commit
    return time.perf_counter() - start


def subscribe_oca_auditlog(env, log_type="full", models=AUDITED_MODELS):
    """Create and subscribe OCA ``auditlog`` rules for ``models``.

    ``log_type`` is ``full`` or ``fast``. Reads are not logged (the audit
    addon does not log reads on these models either, only form opens).
    """
    Rule = env["auditlog.rule"]
    rules = Rule.browse()
    for model_name in models:
        model = env["ir.model"]._get(model_name)
        rules |= Rule.create({
            "name": f"bench {model_name}",
            "model_id": model.id,
            "log_type": log_type,
            "log_read": False,
            "log_write": True,
            "log_create": True,
            "log_unlink": True,
        })
    rules.action_subscribe()
    env.cr.commit()  # pylint: disable=invalid-commit
    return rules


def audit_rows_since(env, last_id=0):
    """Number of audit rows written after ``last_id`` and the new last id."""
    env.cr.execute("SELECT count(*), COALESCE(max(id), 0) FROM sales_document_audit_log WHERE id > %s", (last_id,))
    count, new_last = env.cr.fetchone()
    return count, max(new_last, last_id)


def seal_all(env):
    """Seal everything pending (the scheduled job's work), timed."""
    start = time.perf_counter()
    env["sales.document.audit.log"]._cron_seal()
    env.cr.commit()  # pylint: disable=invalid-commit
    return time.perf_counter() - start

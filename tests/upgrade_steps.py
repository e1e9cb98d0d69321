"""Steps of the upgrade test, each run in its own process by ``test_upgrade.py``.

``fill`` runs against the previous release (its addons on the addons path, its
data generator on ``sys.path``); ``verify`` against the working tree;
``snapshot`` reads the database with psycopg2 only. Each step prints one JSON
document on its last line of output.

    python tests/upgrade_steps.py fill --config C --database D --flows 30 --backup-dir B
    python tests/upgrade_steps.py snapshot --config C --database D --addons a,b [--columns-from F]
    python tests/upgrade_steps.py verify --config C --database D --before F

The comparison of two snapshots (:func:`compare`) is plain Python: the test
uses it directly.
"""

import argparse
import configparser
import hashlib
import json
import sys
from pathlib import Path

# Odoo's document tables the addons build on: an upgrade of the addons must
# not change one of their rows.
DOCUMENT_TABLES = (
    "sale_order",
    "sale_order_line",
    "stock_picking",
    "stock_move",
    "account_move",
    "account_move_line",
    "account_payment",
    "res_partner",
    "product_product",
    "product_template",
    "crm_tag",
    "crm_lead",
)
# Tables compared through their meaning rather than row by row: the monthly
# roll-up of the registry is a log of deltas that compaction and rebuilds
# reshape (its sums are compared with the rows by the registry's own check).
SUMMARY_TABLES = ("sales_document_row_stat",)
# Columns an update rewrites by design: Odoo writes the addons' own data
# records (those not marked noupdate) again, which changes their write date.
VOLATILE_COLUMNS = ("write_date", "write_uid")


# ---------------------------------------------------------------------------
# Database access without Odoo (snapshots)
# ---------------------------------------------------------------------------


def connect(config_path, database):
    """A psycopg2 connection with the database options of an Odoo configuration file."""
    import psycopg2

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(config_path)
    options = parser["options"]
    kwargs = {"dbname": database}
    for option, key in (("db_host", "host"), ("db_port", "port"), ("db_user", "user"),
                        ("db_password", "password")):
        value = options.get(option)
        if value and value != "False":
            kwargs[key] = value
    return psycopg2.connect(**kwargs)


def tables_of(cr, addons):
    """Tables to compare: Odoo's document tables, every table of the addons'
    models and many2many relations, and the addons' own tables (``sales_document*``)."""
    cr.execute(
        """SELECT DISTINCT replace(m.model, '.', '_')
             FROM ir_model m JOIN ir_model_data d ON d.model = 'ir.model' AND d.res_id = m.id
            WHERE d.module = ANY(%s)""",
        (list(addons),),
    )
    names = {row[0] for row in cr.fetchall()}
    cr.execute(
        """SELECT DISTINCT f.relation_table
             FROM ir_model_fields f JOIN ir_model_data d ON d.model = 'ir.model.fields' AND d.res_id = f.id
            WHERE d.module = ANY(%s) AND f.ttype = 'many2many' AND f.relation_table IS NOT NULL""",
        (list(addons),),
    )
    names |= {row[0] for row in cr.fetchall()}
    names |= set(DOCUMENT_TABLES)
    cr.execute(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'
              AND (c.relname = ANY(%s) OR c.relname LIKE 'sales\\_document%%')""",
        (sorted(names),),
    )
    return sorted(row[0] for row in cr.fetchall() if row[0] not in SUMMARY_TABLES)


def columns_of(cr, table):
    cr.execute(
        """SELECT column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = %s ORDER BY column_name""",
        (table,),
    )
    return [row[0] for row in cr.fetchall()]


def table_snapshot(cr, table, columns):
    """Count, and one digest per row (keyed by id, or a sorted list without an id column)."""
    from psycopg2 import sql

    existing = set(columns_of(cr, table))
    present = [c for c in columns if c in existing and c not in VOLATILE_COLUMNS]
    # ROW(...)::text: one text per row, whatever the number of columns
    # (function calls such as jsonb_build_array stop at 100 arguments).
    digest = sql.SQL("md5(ROW({})::text)").format(sql.SQL(", ").join(map(sql.Identifier, present)))
    keyed = "id" in existing
    key = sql.Identifier("id") if keyed else sql.SQL("NULL")
    cr.execute(sql.SQL("SELECT {}, {} FROM {}").format(key, digest, sql.Identifier(table)))
    rows = cr.fetchall()
    snapshot = {
        "columns": columns,
        "missing_columns": sorted(set(columns) - existing),
        "count": len(rows),
        "checksum": hashlib.sha256("".join(sorted(d for _k, d in rows)).encode()).hexdigest(),
    }
    if keyed:
        snapshot["rows"] = {str(k): d for k, d in rows}
    else:
        snapshot["digests"] = sorted(d for _k, d in rows)
    return snapshot


def snapshot(config_path, database, addons, columns_from=None):
    """Counts and digests of every table to compare.

    With ``columns_from`` (an earlier snapshot), the tables and columns are
    those of that snapshot, so that rows are compared on the columns that
    existed before; columns or tables gone since are reported as missing.
    """
    conn = connect(config_path, database)
    try:
        with conn.cursor() as cr:
            cr.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            if columns_from:
                wanted = {t: s["columns"] for t, s in columns_from["tables"].items()}
                new_tables = sorted(set(tables_of(cr, addons)) - set(wanted))
            else:
                wanted = {t: columns_of(cr, t) for t in tables_of(cr, addons)}
                new_tables = []
            cr.execute("SELECT to_regclass(t) IS NOT NULL, t FROM unnest(%s::text[]) t", (sorted(wanted),))
            exists = {t: e for e, t in cr.fetchall()}
            tables = {}
            for table, columns in sorted(wanted.items()):
                if not exists[table]:
                    continue
                tables[table] = table_snapshot(cr, table, columns)
        return {"tables": tables, "missing_tables": sorted(t for t, e in exists.items() if not e),
                "new_tables": new_tables}
    finally:
        conn.close()


def compare(before, after):
    """What the upgrade lost or changed: a list of sentences (empty: nothing).

    Rows are compared by id on the columns that existed before; rows added by
    the upgrade are allowed (they lose nothing).
    """
    problems = [f"table {t} is gone" for t in after.get("missing_tables", ()) if t in before["tables"]]
    for table, old in sorted(before["tables"].items()):
        new = after["tables"].get(table)
        if new is None:
            if table not in after.get("missing_tables", ()):
                problems.append(f"table {table} is gone")
            continue
        if new["missing_columns"]:
            problems.append(f"{table}: columns gone: {', '.join(new['missing_columns'])}")
            continue
        if "rows" in old:
            lost = sorted(set(old["rows"]) - set(new.get("rows", {})), key=int)
            changed = sorted((k for k in old["rows"] if k in new.get("rows", {}) and old["rows"][k] != new["rows"][k]),
                             key=int)
            if lost:
                problems.append(f"{table}: {len(lost)} of {old['count']} rows lost (ids {', '.join(lost[:10])})")
            if changed:
                problems.append(f"{table}: {len(changed)} rows changed (ids {', '.join(changed[:10])})")
        else:
            remaining = list(new.get("digests", []))
            missing = 0
            for digest in old["digests"]:
                try:
                    remaining.remove(digest)
                except ValueError:
                    missing += 1
            if missing:
                problems.append(f"{table}: {missing} of {old['count']} rows lost or changed")
    return problems


# ---------------------------------------------------------------------------
# Steps that run Odoo
# ---------------------------------------------------------------------------


def _environment(config_path, database):
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(["-c", str(config_path), "-d", database], setup_logging=True)
    return Registry(database)


def _audit_state(env):
    """Per company: sealed rows, the last checkpoint's hash, and the verification result."""
    Log = env["sales.document.audit.log"]
    env.cr.execute("SELECT company_id, count(*) FROM sales_document_audit_log WHERE hash IS NOT NULL GROUP BY 1")
    sealed = {str(company): count for company, count in env.cr.fetchall()}
    state = {}
    for company in sealed:
        company_id = int(company) if company != "None" else None
        last = env["sales.document.audit.checkpoint"]._last_for_company(company_id) or {}
        state[company] = {
            "sealed": sealed[company],
            "last_checkpoint_hash": last.get("hash"),
            "last_sequence": last.get("last_sequence"),
            "verify": Log._verify_integrity([company_id]),
        }
    return state


def _journal_state(env):
    """Per company: the last sent journal entry (sequence, hash) and how many are queued."""
    env.cr.execute(
        """SELECT DISTINCT ON (company_id) company_id, sequence, entry_hash
             FROM sales_document_backup_journal WHERE state = 'sent'
         ORDER BY company_id, sequence DESC"""
    )
    state = {str(c): {"sequence": s, "entry_hash": h} for c, s, h in env.cr.fetchall()}
    env.cr.execute("SELECT count(*) FROM sales_document_backup_journal WHERE state = 'queued'")
    return {"last_sent": state, "queued": env.cr.fetchone()[0]}


def step_fill(args):
    """Fill a database of the previous release: flows, cancelled and draft
    quotations, sealed audit rows, journal batches, one full backup."""
    sys.path.insert(0, str(Path(args.release_tree).resolve()))
    from odoo import SUPERUSER_ID, api

    from benchmarks import datagen

    registry = _environment(args.config, args.database)
    result = {}
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        destination = env["sales.document.backup.destination"].create({
            "name": "Upgrade test", "code": "upgrade", "kind": "local", "path": args.backup_dir,
            "journal_enabled": True,
        })
        sizing = datagen.Sizing(customers=8, contacts_per_customer=1, salespeople=2, teams=1, products=12,
                                services=2, tags=3)
        master = datagen.prepare_master_data(env, flows=args.flows, seed=11, sizing=sizing)
        cr.commit()
        stats = datagen.generate_flows(env, args.flows, seed=11, master=master, batch_size=10,
                                       partial_rate=0.2, return_rate=0.2)
        cr.commit()
        env.invalidate_all()
        orders = env["sale.order"].browse(stats.order_ids)
        # Quotations: one cancelled now, one left in draft for after the upgrade.
        quotations = env["sale.order"].browse()
        for index, order in enumerate(orders[:2]):
            quotations |= order.copy({"client_order_ref": f"UPGRADE-{index}"})
        quotations[0].with_context(disable_cancel_warning=True).action_cancel()
        cr.commit()
        env["sales.document.audit.log"]._cron_seal()
        cr.commit()
        env["sales.document.backup.journal"]._cron_send_journal()
        cr.commit()
        backup = env["sales.document.backup"]._run_full_backup(destination, detached=False)
        cr.commit()
        result = {
            "flows": stats.flows,
            "orders": len(orders),
            "invoices": stats.invoices,
            "credit_notes": stats.credit_notes,
            "payments": stats.payments,
            "draft_quotation_id": quotations[1].id,
            "backup": {"id": backup.id, "state": backup.state, "sha256": backup.sha256,
                       "error": backup.error if "error" in backup._fields else None},
            "destination_id": destination.id,
            "audit": _audit_state(env),
            "journal": _journal_state(env),
            "store": env["sales.document"]._store_differences(),
        }
    print(json.dumps(result))


def step_verify(args):
    """After the upgrade: the registry store, the audit chain, the journal
    sequence and the full backup, then one more change of each kind."""
    from odoo import SUPERUSER_ID, api

    before = json.loads(Path(args.before).read_text())
    registry = _environment(args.config, args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        result = {"store": env["sales.document"]._store_differences(), "audit_after_upgrade": _audit_state(env),
                  "journal_after_upgrade": _journal_state(env)}
        backup = env["sales.document.backup"].browse(before["backup"]["id"]).exists()
        copies = backup.copy_ids if backup and "copy_ids" in backup._fields else env["sales.document.backup.copy"]
        result["backup"] = {
            "state": backup.state if backup else None,
            "sha256": backup.sha256 if backup else None,
            "copies": [_copy_check(copy) for copy in copies],
        }
        # New changes after the upgrade: a cancelled quotation (audit rows and
        # a journal entry), sealed and sent like any other.
        quotation = env["sale.order"].browse(before["draft_quotation_id"])
        quotation.with_context(disable_cancel_warning=True).action_cancel()
        cr.commit()
        env["sales.document.audit.log"]._cron_seal()
        cr.commit()
        batches = env["sales.document.backup.journal"]._cron_send_journal()
        cr.commit()
        entry = env["sales.document.backup.journal"].search(
            [("res_model", "=", "sale.order"), ("res_id", "=", quotation.id), ("event", "=", "cancelled")], limit=1
        )
        result["new_journal_entry"] = {
            "company_id": entry.company_id.id, "sequence": entry.sequence, "prev_hash": entry.prev_hash,
            "state": entry.state, "batches": batches.mapped("state"),
        }
        result["audit_after_change"] = _audit_state(env)
        # The first checkpoint sealed after the upgrade chains to the last one sealed before it.
        last_before = before["audit"].get(str(quotation.company_id.id), {}).get("last_sequence") or 0
        env.cr.execute(
            """SELECT prev_hash FROM sales_document_audit_checkpoint
                WHERE company_id = %s AND first_sequence > %s ORDER BY first_sequence LIMIT 1""",
            (quotation.company_id.id, last_before),
        )
        result["new_checkpoint_prev_hash"] = (env.cr.fetchone() or [None])[0]
        result["company_id"] = quotation.company_id.id
        result["store_after_change"] = env["sales.document"]._store_differences()
        env.cr.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'sales_document_audit_log'")
        result["audit_log_indexes"] = dict(env.cr.fetchall())
        env.cr.execute(
            """SELECT att.attname FROM pg_constraint con
                 JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
                WHERE con.conrelid = 'sales_document_audit_log'::regclass AND con.contype = 'f'"""
        )
        result["audit_log_foreign_keys"] = sorted(row[0] for row in env.cr.fetchall())
        env.cr.execute(
            "SELECT name FROM ir_model_constraint WHERE type = 'f' AND name LIKE 'sales_document_audit_log%'"
        )
        result["audit_log_foreign_key_records"] = sorted(row[0] for row in env.cr.fetchall())
        env.cr.execute("SELECT name, latest_version FROM ir_module_module WHERE state = 'installed'")
        result["versions"] = dict(env.cr.fetchall())
    print(json.dumps(result))


def _copy_check(copy):
    """Whether a local copy of a backup is still where it was written, with its checksum."""
    location = Path(copy.location or copy.destination_id.path or "") / copy.object_name
    found = location.is_file()
    digest = hashlib.sha256(location.read_bytes()).hexdigest() if found else None
    return {"object": copy.object_name, "state": copy.state, "found": found, "sha256": digest,
            "recorded_sha256": copy.sha256}


def step_snapshot(args):
    columns_from = json.loads(Path(args.columns_from).read_text()) if args.columns_from else None
    result = snapshot(args.config, args.database, args.addons.split(","), columns_from)
    Path(args.out).write_text(json.dumps(result))
    print(json.dumps({"tables": len(result["tables"]), "rows": sum(t["count"] for t in result["tables"].values())}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    fill = sub.add_parser("fill")
    fill.add_argument("--release-tree", required=True)
    fill.add_argument("--flows", type=int, default=30)
    fill.add_argument("--backup-dir", required=True)
    verify = sub.add_parser("verify")
    verify.add_argument("--before", required=True)
    snap = sub.add_parser("snapshot")
    snap.add_argument("--addons", required=True)
    snap.add_argument("--out", required=True)
    snap.add_argument("--columns-from")
    for step in (fill, verify, snap):
        step.add_argument("--config", required=True)
        step.add_argument("--database", required=True)
    args = parser.parse_args(argv)
    {"fill": step_fill, "verify": step_verify, "snapshot": step_snapshot}[args.step](args)


if __name__ == "__main__":
    main()

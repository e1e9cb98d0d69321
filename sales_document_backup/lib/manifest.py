"""Manifests: SHA-256 checksums, document statistics and chained journals.

A full backup's manifest records what the archive must contain when it is
restored: Odoo version, installed modules, per document type the number of
documents, their amount total and a digest over every document's key fields.
The statistics are read through a DB-API cursor with plain SQL, so the same
function measures the source database (inside the dump's snapshot) and the
restored scratch database, and the two can be compared.

Journal manifests chain their entries: every entry carries the hash of the
previous one, so removing, reordering or editing an entry breaks the chain at
that point.
"""

import hashlib
import json
import re
from decimal import Decimal

from .errors import LibMessage, _lt

GENESIS = "0" * 64
BUFFER = 1024 * 1024

# One query per document type: id, name, state and amount as text (so that
# both sides hash exactly the same characters), ordered by id.
DOCUMENT_QUERIES = {
    "order": (
        "sale_order",
        "SELECT id, coalesce(name, ''), coalesce(state, ''), coalesce(amount_total, 0)::text "
        "FROM sale_order ORDER BY id",
    ),
    "delivery": (
        "stock_picking",
        "SELECT p.id, coalesce(p.name, ''), coalesce(p.state, ''), '0' "
        "FROM stock_picking p JOIN stock_picking_type t ON t.id = p.picking_type_id "
        "WHERE t.code = 'outgoing' ORDER BY p.id",
    ),
    "invoice": (
        "account_move",
        "SELECT id, coalesce(name, ''), coalesce(state, ''), coalesce(amount_total, 0)::text "
        "FROM account_move WHERE move_type = 'out_invoice' ORDER BY id",
    ),
    "credit_note": (
        "account_move",
        "SELECT id, coalesce(name, ''), coalesce(state, ''), coalesce(amount_total, 0)::text "
        "FROM account_move WHERE move_type = 'out_refund' ORDER BY id",
    ),
    "payment": (
        "account_payment",
        "SELECT id, coalesce(name, ''), coalesce(state, ''), coalesce(amount, 0)::text "
        "FROM account_payment WHERE payment_type = 'inbound' AND partner_type = 'customer' "
        "ORDER BY id",
    ),
}
MODULES_QUERY = "SELECT name, latest_version FROM ir_module_module WHERE state = 'installed' ORDER BY name"


# Field names left out of document snapshots: access tokens, passwords,
# secrets, keys and signatures are credentials, not document content.
SECRET_FIELD = re.compile(r"token|passw|secret|signature|api_?key|private_key|credential", re.IGNORECASE)


def is_secret_field(name):
    """Whether a field called ``name`` holds a secret snapshots must leave out."""
    return bool(SECRET_FIELD.search(name or ""))


def without_secrets(values):
    """``values`` (a dict, or lists and dicts of them) without the secret keys, at any depth."""
    if isinstance(values, dict):
        return {key: without_secrets(value) for key, value in values.items() if not is_secret_field(str(key))}
    if isinstance(values, list | tuple):
        return [without_secrets(value) for value in values]
    return values


def canonical_json(value):
    """Deterministic JSON bytes (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BUFFER), b""):
            digest.update(block)
    return digest.hexdigest()


def _table_exists(cursor, table):
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    return cursor.fetchone()[0]


def document_stats(cursor, batch=5000):
    """Per document type: {'count', 'amount_total' (text), 'digest'}.

    Rows come through a server-side cursor in batches, so memory does not
    grow with the database. Must run inside a transaction.
    """
    from psycopg2 import sql

    stats = {}
    for doc_type, (table, query) in DOCUMENT_QUERIES.items():
        if not _table_exists(cursor, table):
            continue
        cursor.execute(sql.SQL("DECLARE sdb_document_stats NO SCROLL CURSOR FOR {}").format(sql.SQL(query)))
        digest = hashlib.sha256()
        count = 0
        total = Decimal(0)
        while True:
            cursor.execute("FETCH %s FROM sdb_document_stats", (batch,))
            rows = cursor.fetchall()
            if not rows:
                break
            for row in rows:
                count += 1
                total += Decimal(row[3])
                digest.update(("\t".join(str(col) for col in row) + "\n").encode())
        cursor.execute("CLOSE sdb_document_stats")
        stats[doc_type] = {"count": count, "amount_total": str(total), "digest": digest.hexdigest()}
    return stats


def installed_modules(cursor):
    """{module name: version} of the installed modules."""
    if not _table_exists(cursor, "ir_module_module"):
        return {}
    cursor.execute(MODULES_QUERY)
    return dict(cursor.fetchall())


# A difference per statistic, one whole sentence each.
STAT_DIFFERENCES = {
    "count": _lt("%(type)s: %(expected)s documents expected, %(found)s found"),
    "amount_total": _lt("%(type)s: amount total %(expected)s expected, %(found)s found"),
    "digest": _lt("%(type)s: document hash %(expected)s expected, %(found)s found"),
}


def compare_stats(expected, actual):
    """Differences between two ``document_stats`` results, as readable lines (``LibMessage``)."""
    problems = []
    for doc_type in sorted(set(expected) | set(actual)):
        want, got = expected.get(doc_type), actual.get(doc_type)
        if want is None or got is None:
            problems.append(LibMessage(_lt("%(type)s: present on one side only"), type=doc_type))
            continue
        for key, template in STAT_DIFFERENCES.items():
            left, right = want.get(key), got.get(key)
            if key == "amount_total":
                left, right = Decimal(str(left)), Decimal(str(right))
            if left != right:
                problems.append(LibMessage(template, type=doc_type, expected=want.get(key), found=got.get(key)))
    return problems


# ---------------------------------------------------------------------------
# Chained journal manifests
# ---------------------------------------------------------------------------


def entry_hash(entry):
    """Hash of a journal entry: SHA-256 of its canonical JSON without 'hash'."""
    return sha256_bytes(canonical_json({k: v for k, v in entry.items() if k != "hash"}))


def chain_entry(prev_hash, payload):
    """Return ``payload`` as a chained entry linked to ``prev_hash``."""
    entry = dict(payload, prev_hash=prev_hash or GENESIS)
    entry["hash"] = entry_hash(entry)
    return entry


def chain_entries(prev_hash, payloads):
    """Chain a list of payloads after ``prev_hash``; returns the entries."""
    entries = []
    for payload in payloads:
        entry = chain_entry(prev_hash, payload)
        entries.append(entry)
        prev_hash = entry["hash"]
    return entries


def verify_chain(entries, start_hash=None):
    """Check links and hashes of consecutive entries.

    Returns {'ok': bool, 'checked': int, 'first_broken': index or None,
    'reason': text}. ``start_hash`` is the hash the first entry must follow
    (defaults to whatever the first entry claims).
    """
    expected_prev = start_hash
    for index, entry in enumerate(entries):
        if expected_prev is not None and entry.get("prev_hash") != expected_prev:
            return {"ok": False, "checked": index, "first_broken": index, "reason": "broken link"}
        if entry.get("hash") != entry_hash(entry):
            return {"ok": False, "checked": index, "first_broken": index, "reason": "altered entry"}
        expected_prev = entry["hash"]
    return {"ok": True, "checked": len(entries), "first_broken": None, "reason": ""}

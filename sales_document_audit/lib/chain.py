"""Hash chain and Merkle tree of audit rows, independent of Odoo.

A sealed row's hash is ``sha256(prev_hash + canonical_json(payload))``; a
checkpoint stores the Merkle root of the hashes of the rows it seals and is
chained to the previous checkpoint of the same company.
"""

import hashlib
import json

# Columns of an audit row covered by its hash, in a fixed order. The one
# list sealing, verification (in Odoo and on the command line) and the
# schema test read: a column of the table is either here or a seal column.
HASHED_COLUMNS = (
    "id",
    "company_id",
    "sequence",
    "res_model",
    "res_id",
    "res_name",
    "operation",
    "user_id",
    "timestamp",
    "changes",
    "ip_address",
    "user_agent",
    "device",
)
ROW_FIELDS = HASHED_COLUMNS

# Columns filled in by sealing, read by verification next to the hashed ones.
SEAL_READ_COLUMNS = ("prev_hash", "hash", "checkpoint_id")

# Hex digits of each row hash an anchor keeps to locate a rewritten row.
LEAF_PREFIX = 16


# One encoder for every row (``json.dumps`` with these options builds one per call).
_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(value):
    """Stable text form of ``value``: sorted keys, no insignificant spaces."""
    return _CANONICAL_ENCODER.encode(value)


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_time(value):
    """Canonical text of a timestamp (``YYYY-MM-DD HH:MM:SS``, UTC), or the text given."""
    if value is None or value is False:
        return None
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)[:19]


def row_payload(row):
    """The part of a row (a mapping) the hash covers, with stable types."""
    payload = {}
    for name in HASHED_COLUMNS:
        value = row.get(name)
        if hasattr(value, "isoformat"):
            value = value.isoformat(sep=" ")
        payload[name] = value if value is not None else None
    return payload


def row_hash(prev_hash, row):
    """Hash of ``row`` chained after ``prev_hash`` (empty for the first row)."""
    return sha256_hex((prev_hash or "") + canonical_json(row_payload(row)))


def merkle_root(leaves):
    """Merkle root of a list of hex digests (the last one is paired with itself)."""
    if not leaves:
        return sha256_hex("")
    level = list(leaves)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256_hex(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def checkpoint_hash(prev_checkpoint_hash, checkpoint):
    """Hash of a checkpoint (a mapping) chained after the previous one."""
    payload = {
        key: checkpoint.get(key)
        for key in ("company_id", "first_sequence", "last_sequence", "row_count", "merkle_root")
    }
    return sha256_hex((prev_checkpoint_hash or "") + canonical_json(payload))


def leaf_prefixes(hashes):
    """Compact form of row hashes kept by anchors: the first LEAF_PREFIX hex digits of each."""
    return "".join(digest[:LEAF_PREFIX] for digest in hashes)


def split_leaf_prefixes(text):
    """The list of prefixes ``leaf_prefixes`` joined."""
    text = text or ""
    return [text[i:i + LEAF_PREFIX] for i in range(0, len(text), LEAF_PREFIX)]


def diff_values(old, new):
    """``{field: [old, new]}`` for the fields whose value differs.

    Fields missing from ``old`` (old value unknown) are not compared.
    """
    changes = {}
    for name, value in new.items():
        if name not in (old or {}):
            continue
        before = old[name]
        if before != value:
            changes[name] = [before, value]
    return changes


def device_from_user_agent(user_agent):
    """Rough device class of a browser: mobile, tablet, desktop or api."""
    if not user_agent:
        return "api"
    agent = user_agent.lower()
    if "ipad" in agent or "tablet" in agent:
        return "tablet"
    if "mobi" in agent or "android" in agent or "iphone" in agent:
        return "mobile"
    if "mozilla" in agent:
        return "desktop"
    return "api"

"""Former home of the hash chain helpers, now in ``lib/chain.py``."""

from ..lib.chain import (  # noqa: F401
    HASHED_COLUMNS,
    ROW_FIELDS,
    SEAL_READ_COLUMNS,
    canonical_json,
    checkpoint_hash,
    device_from_user_agent,
    diff_values,
    format_time,
    leaf_prefixes,
    merkle_root,
    row_hash,
    row_payload,
    sha256_hex,
)

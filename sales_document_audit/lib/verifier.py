"""Verification of one company's audit chain against its anchors (no Odoo).

The database side is given as checkpoints (dicts, ordered by
``first_sequence``) and a function returning the sealed rows of a sequence
range; the outside side as anchor records (``anchors.py``) and public keys.
Whoever owns the database can rewrite rows and recompute every hash and
checkpoint: the chain then agrees with itself, but no longer with the signed
checkpoints kept outside, and the checkpoints it holds can no longer be
signed. The result names the first broken point and why.
"""

from datetime import UTC, datetime, timedelta

from . import chain, signing

# Reason codes, with the text shown when no translation is at hand.
REASONS = {
    "row_rewritten": "An entry was changed after it was sealed.",
    "row_removed": "Entries were removed from the chain.",
    "tail_removed": "The newest entries were removed: the anchors hold entries the database no longer has.",
    "chain_restarted": "The chain was restarted: it does not begin with the anchored one.",
    "chain_forked": "The anchors hold two different checkpoints for the same range (forked chain).",
    "bad_signature": "A checkpoint signature is invalid or was made with an unknown key.",
    "signature_missing": "A checkpoint sealed after signing began carries no signature.",
    "checkpoint_mismatch": "A checkpoint differs from its anchored copy.",
    "anchor_gap": "A checkpoint was never anchored although later ones were.",
    "not_anchored": "A checkpoint is still not anchored after the grace period.",
    "stray_rows": "Sealed entries lie outside every checkpoint.",
}


# Which reason names a break best when two are found at the same position.
PRIORITY = (
    "chain_restarted", "tail_removed", "row_removed", "row_rewritten", "bad_signature", "signature_missing",
    "checkpoint_mismatch", "chain_forked", "anchor_gap", "not_anchored", "stray_rows",
)


class _Found(Exception):
    """The walk met a break beyond which nothing can be trusted."""


class CompanyVerifier:
    """Verify one company; ``run()`` returns the result dict.

    :param checkpoints: the company's checkpoints in the database.
    :param rows_for: ``rows_for(first_sequence, last_sequence)``: its sealed
        rows in that range, ordered by sequence (hashed columns plus
        ``sequence``, ``prev_hash``, ``hash``, ``checkpoint_id``).
    :param stray_row: ``stray_row(sequence)``: the smallest id of a sealed
        row at or after ``sequence`` (rows no checkpoint covers), or None.
    :param anchors: anchor records, or None when no anchor store is used.
    :param public_keys: ``{fingerprint: key}`` or None to skip signatures.
    :param database: the database identity signatures cover.
    :param now: the time unanchored checkpoints are judged at.
    :param grace_seconds: how long a new checkpoint may wait for its anchor.
    """

    def __init__(self, checkpoints, rows_for, stray_row=None, anchors=None, public_keys=None, database=None,
                 now=None, grace_seconds=3600):
        self.checkpoints = checkpoints
        self.rows_for = rows_for
        self.stray_row = stray_row
        self.anchors = anchors
        self.public_keys = public_keys
        self.database = database
        self.now = now or datetime.now(UTC).replace(tzinfo=None)
        self.grace = timedelta(seconds=grace_seconds)
        self.issues = []
        self.checked = 0
        self.anchored = 0
        self.unanchored = 0

    # ------------------------------------------------------------------

    def _issue(self, sequence, log_id, reason, detail=""):
        self.issues.append({"sequence": sequence or 0, "log_id": log_id or False, "reason": reason, "detail": detail})

    def _read_anchors(self):
        self.by_first = {}
        self.leaves = {}
        self.anchored_last = 0
        self.first_anchored = None
        if self.anchors is None:
            return
        for record in self.anchors:
            payload = record["payload"]
            first = payload.get("first_sequence") or 0
            if self.public_keys is not None and not signing.verify(self.public_keys, payload, record.get("signature")):
                self._issue(first, payload.get("first_log_id"), "bad_signature",
                            f"anchor of sequences {first}-{payload.get('last_sequence')}")
                continue
            known = self.by_first.get(first)
            if known is not None:
                if known["payload"].get("hash") != payload.get("hash"):
                    self._issue(first, payload.get("first_log_id"), "chain_forked",
                                f"two anchored checkpoints start at sequence {first}")
                continue
            self.by_first[first] = record
        previous = None
        for first in sorted(self.by_first):
            payload = self.by_first[first]["payload"]
            if previous is not None and (
                first == previous["last_sequence"] + 1 and (payload.get("prev_hash") or "") != previous["hash"]
            ):
                self._issue(first, payload.get("first_log_id"), "chain_forked",
                            f"anchored checkpoint at sequence {first} does not follow the previous one")
            previous = payload
            for offset, prefix in enumerate(chain.split_leaf_prefixes(self.by_first[first].get("leaves"))):
                self.leaves[first + offset] = prefix
            self.anchored_last = max(self.anchored_last, payload.get("last_sequence") or 0)
        self.first_anchored = min(self.by_first) if self.by_first else None

    def _check_row(self, checkpoint, row, prev_hash, expected):
        self.checked += 1
        if row["sequence"] != expected:
            self._issue(expected, row["id"], "row_removed", f"sequence {expected} is missing")
            raise _Found
        computed = chain.row_hash(prev_hash, row)
        if (row["prev_hash"] or "") != prev_hash or computed != row["hash"] or row["checkpoint_id"] != checkpoint["id"]:
            self._issue(row["sequence"], row["id"], "row_rewritten", "hash does not match the entry")
            raise _Found
        anchored = self.leaves.get(row["sequence"])
        if anchored is not None and computed[: chain.LEAF_PREFIX] != anchored:
            if row["sequence"] == self.first_anchored == 1:
                reason = "chain_restarted"
            elif self.anchored_last >= row["sequence"] and self._sealed_count < self.anchored_last:
                reason = "row_removed"
            else:
                reason = "row_rewritten"
            self._issue(row["sequence"], row["id"], reason, "entry differs from the anchored chain")
            raise _Found
        return computed

    def _check_checkpoint(self, checkpoint, rows, leaves, prev_checkpoint_hash, expected):
        first, last_id = checkpoint["first_sequence"], checkpoint["last_log_id"]
        if len(rows) != checkpoint["row_count"] or expected != checkpoint["last_sequence"] + 1:
            reason = "tail_removed" if checkpoint is self.checkpoints[-1] and len(rows) < checkpoint["row_count"] \
                else "row_removed"
            self._issue(expected, last_id, reason, f"checkpoint {checkpoint['id']} counts {checkpoint['row_count']}")
            raise _Found
        if chain.merkle_root(leaves) != checkpoint["merkle_root"]:
            self._issue(first, last_id, "row_rewritten", f"Merkle root of checkpoint {checkpoint['id']}")
            raise _Found
        if (
            (checkpoint["prev_hash"] or "") != prev_checkpoint_hash
            or chain.checkpoint_hash(prev_checkpoint_hash, checkpoint) != checkpoint["hash"]
        ):
            self._issue(first, checkpoint["first_log_id"], "checkpoint_mismatch",
                        f"checkpoint {checkpoint['id']} does not chain")
            raise _Found
        signature = checkpoint.get("signature")
        if signature:
            self._signing_started = True
            if self.public_keys is not None:
                payload = signing.checkpoint_payload(checkpoint, self.database, checkpoint.get("key_fingerprint"))
                if not signing.verify(self.public_keys, payload, signature):
                    self._issue(first, checkpoint["first_log_id"], "bad_signature",
                                f"checkpoint {checkpoint['id']}")
                    raise _Found
        elif self._signing_started or (self.anchors is not None and first in self.by_first):
            self._issue(first, checkpoint["first_log_id"], "signature_missing", f"checkpoint {checkpoint['id']}")
            raise _Found
        if self.anchors is None:
            return
        record = self.by_first.get(first)
        if record is None:
            if not signature:
                return  # sealed before signing and anchoring began
            self.unanchored += 1
            if any(other > first for other in self.by_first):
                self._issue(first, checkpoint["first_log_id"], "anchor_gap", f"checkpoint {checkpoint['id']}")
                raise _Found
            sealed_at = checkpoint.get("sealed_at")
            if isinstance(sealed_at, str):
                sealed_at = datetime.strptime(sealed_at[:19], "%Y-%m-%d %H:%M:%S")
            if sealed_at and sealed_at + self.grace < self.now:
                self._issue(first, checkpoint["first_log_id"], "not_anchored", f"checkpoint {checkpoint['id']}")
                raise _Found
            return
        payload = record["payload"]
        if payload.get("hash") != checkpoint["hash"] or payload.get("last_sequence") != checkpoint["last_sequence"]:
            self._issue(first, checkpoint["first_log_id"], "checkpoint_mismatch", f"checkpoint {checkpoint['id']}")
            raise _Found
        if record.get("signature") != signature:
            self._issue(first, checkpoint["first_log_id"], "bad_signature",
                        f"checkpoint {checkpoint['id']} is not signed as anchored")
            raise _Found
        self.anchored += 1

    def _walk(self):
        prev_hash = ""
        prev_checkpoint_hash = ""
        expected = 1
        for checkpoint in self.checkpoints:
            rows = self.rows_for(checkpoint["first_sequence"], checkpoint["last_sequence"])
            leaves = []
            for row in rows:
                prev_hash = self._check_row(checkpoint, row, prev_hash, expected)
                leaves.append(prev_hash)
                expected += 1
            self._check_checkpoint(checkpoint, rows, leaves, prev_checkpoint_hash, expected)
            prev_checkpoint_hash = checkpoint["hash"]
        stray = self.stray_row(expected) if self.stray_row else None
        if stray:
            self._issue(expected, stray, "stray_rows", f"sealed entries from sequence {expected}")
            raise _Found
        if self.anchors is not None and self.anchored_last >= expected:
            missing = next(
                (rec["payload"] for first, rec in sorted(self.by_first.items())
                 if rec["payload"]["last_sequence"] >= expected),
                {},
            )
            reason = "chain_restarted" if expected == 1 and self.checkpoints else "tail_removed"
            self._issue(expected, missing.get("last_log_id"), reason,
                        f"anchored up to sequence {self.anchored_last}, the database ends at {expected - 1}")

    def run(self):
        self._signing_started = False
        self._sealed_count = sum(checkpoint["row_count"] for checkpoint in self.checkpoints)
        self._read_anchors()
        try:
            self._walk()
        except _Found:
            pass
        return self.result()

    def result(self):
        first = min(
            self.issues, key=lambda issue: (issue["sequence"], PRIORITY.index(issue["reason"]))
        ) if self.issues else None
        return {
            "ok": first is None,
            "checked": self.checked,
            "first_broken_id": first["log_id"] if first else False,
            "first_broken_sequence": first["sequence"] if first else False,
            "reason": first["reason"] if first else False,
            "message": (REASONS[first["reason"]] + (f" ({first['detail']})" if first["detail"] else "")) if first
            else "",
            "anchored": self.anchored,
            "unanchored": self.unanchored,
            "anchors_checked": self.anchors is not None,
            "issues": self.issues,
        }


def verify_company(*args, **kwargs):
    """``CompanyVerifier(*args, **kwargs).run()``."""
    return CompanyVerifier(*args, **kwargs).run()


def combine(results):
    """One verdict for several companies: the first broken point of the first broken company.

    :return: ``(first broken result or None, summary dict)``; callers add
        their own message and details.
    """
    broken = [result for result in results if not result["ok"]]
    first = min(broken, key=lambda result: result["first_broken_id"] or 0) if broken else None
    return first, {
        "ok": not broken,
        "checked": sum(result["checked"] for result in results),
        "first_broken_id": first["first_broken_id"] if first else False,
        "first_broken_sequence": first["first_broken_sequence"] if first else False,
        "company_id": first["company_id"] if first else False,
        "reason": first["reason"] if first else False,
    }

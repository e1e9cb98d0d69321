"""The chain, signing, anchor stores and verifier of ``lib/``, without a database."""

import json
import os
import shutil
import tempfile
from datetime import datetime, timedelta

from odoo.tests import BaseCase, tagged

from ..lib import anchors, chain, signing, verifier

DATABASE = "db-uuid-1"


class Trail:
    """An in-memory trail of one company sealed and anchored the way the addon does."""

    def __init__(self, key, store, company_id=1):
        self.key = key
        self.store = store
        self.company_id = company_id
        self.rows = []
        self.checkpoints = []
        self.next_id = 100

    def add(self, count):
        for _i in range(count):
            self.next_id += 1
            self.rows.append({
                "id": self.next_id, "company_id": self.company_id, "sequence": None, "res_model": "sale.order",
                "res_id": self.next_id, "res_name": f"S{self.next_id}", "operation": "write", "user_id": 2,
                "timestamp": datetime(2026, 1, 1, 10, 0, 0) + timedelta(seconds=self.next_id),
                "changes": json.dumps({"fields": {"amount_total": [1, self.next_id]}}),
                "ip_address": None, "user_agent": None, "device": "api",
                "prev_hash": None, "hash": None, "checkpoint_id": None,
            })

    def seal(self, anchor=True, sealed_at="2026-01-01 11:00:00"):
        """Seal the unsealed rows into one checkpoint, signed, and anchor it."""
        unsealed = [row for row in self.rows if row["hash"] is None]
        sealed = [row for row in self.rows if row["hash"] is not None]
        prev = sealed[-1]["hash"] if sealed else ""
        sequence = sealed[-1]["sequence"] if sealed else 0
        checkpoint_id = len(self.checkpoints) + 1
        for row in unsealed:
            sequence += 1
            row.update(sequence=sequence, prev_hash=prev, checkpoint_id=checkpoint_id)
            row["hash"] = prev = chain.row_hash(row["prev_hash"], row)
        return self._checkpoint(checkpoint_id, unsealed, anchor, sealed_at)

    def _checkpoint(self, checkpoint_id, rows, anchor, sealed_at):
        prev_cp = self.checkpoints[-1]["hash"] if self.checkpoints else ""
        checkpoint = {
            "id": checkpoint_id, "company_id": self.company_id,
            "first_sequence": rows[0]["sequence"], "last_sequence": rows[-1]["sequence"],
            "first_log_id": rows[0]["id"], "last_log_id": rows[-1]["id"], "row_count": len(rows),
            "merkle_root": chain.merkle_root([row["hash"] for row in rows]), "prev_hash": prev_cp,
            "sealed_at": sealed_at, "key_fingerprint": signing.fingerprint(self.key),
        }
        checkpoint["hash"] = chain.checkpoint_hash(prev_cp, checkpoint)
        payload = signing.checkpoint_payload(checkpoint, DATABASE, checkpoint["key_fingerprint"])
        checkpoint["signature"] = signing.sign(self.key, payload)
        self.checkpoints.append(checkpoint)
        if anchor:
            self.store.append(anchors.make_record(
                payload, checkpoint["signature"], chain.leaf_prefixes([row["hash"] for row in rows]), rows[-1]["hash"]
            ))
        return checkpoint

    def reseal_all(self, key=None):
        """What a database owner does after editing rows: recompute every hash and checkpoint."""
        ranges = [(cp["first_sequence"], cp["last_sequence"], cp["sealed_at"]) for cp in self.checkpoints]
        signed = {cp["hash"]: cp["signature"] for cp in self.checkpoints}
        self.checkpoints = []
        for row in self.rows:
            row.update(hash=None, sequence=None, prev_hash=None)
        key = key or self.key
        prev = ""
        sequence = 0
        for index, (first, last, sealed_at) in enumerate(ranges, start=1):
            rows = self.rows[first - 1:last]
            if not rows:
                break
            for row in rows:
                sequence += 1
                row.update(sequence=sequence, prev_hash=prev, checkpoint_id=index)
                row["hash"] = prev = chain.row_hash(row["prev_hash"], row)
            own_key, self.key = self.key, key
            checkpoint = self._checkpoint(index, rows, False, sealed_at)
            self.key = own_key
            # Checkpoints that came out the same keep their genuine signature.
            if checkpoint["hash"] in signed:
                checkpoint.update(signature=signed[checkpoint["hash"]], key_fingerprint=signing.fingerprint(own_key))

    def rows_for(self, first, last):
        return [dict(row) for row in self.rows if row["hash"] and first <= row["sequence"] <= last]

    def verify(self, public_keys, records=None, **kwargs):
        records = self.store.records(DATABASE, self.company_id) if records is None else records
        return verifier.verify_company(
            [dict(cp) for cp in self.checkpoints], self.rows_for, anchors=records, public_keys=public_keys,
            database=DATABASE, now=datetime(2026, 1, 1, 11, 30), **kwargs,
        )


@tagged("post_install", "-at_install")
class TestLibAnchor(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keydir = tempfile.mkdtemp(prefix="sda-keys-")
        cls.addClassCleanup(shutil.rmtree, cls.keydir, True)
        cls.key = signing.generate_key_pair(f"{cls.keydir}/signing.pem", f"{cls.keydir}/signing.pub.pem")
        cls.public_keys = signing.key_map([signing.load_public_key(f"{cls.keydir}/signing.pub.pem")])

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="sda-anchors-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.store = anchors.LocalAnchorStore(self.dir)
        self.trail = Trail(self.key, self.store)
        for count in (3, 2, 4):
            self.trail.add(count)
            self.trail.seal()

    def assertBroken(self, result, reason, log_id=None, sequence=None):
        self.assertFalse(result["ok"], result)
        self.assertEqual(result["reason"], reason, result)
        if log_id is not None:
            self.assertEqual(result["first_broken_id"], log_id, result)
        if sequence is not None:
            self.assertEqual(result["first_broken_sequence"], sequence, result)
        self.assertTrue(result["message"])

    # ------------------------------------------------------------------
    # Keys and signatures
    # ------------------------------------------------------------------

    def test_keys_and_signatures(self):
        public = signing.load_public_key(f"{self.keydir}/signing.pub.pem")
        self.assertEqual(signing.fingerprint(public), signing.fingerprint(self.key))
        self.assertEqual(signing.fingerprint(signing.load_public_key(f"{self.keydir}/signing.pem")),
                         signing.fingerprint(self.key), "a private key file gives its public half")
        payload = signing.checkpoint_payload(self.trail.checkpoints[0], DATABASE, signing.fingerprint(self.key))
        signature = signing.sign(self.key, payload)
        self.assertTrue(signing.verify(self.public_keys, payload, signature))
        self.assertFalse(signing.verify(self.public_keys, {**payload, "row_count": 4}, signature))
        self.assertFalse(signing.verify(self.public_keys, {**payload, "database": "other"}, signature))
        self.assertFalse(signing.verify(self.public_keys, payload, "not base64!"))
        self.assertFalse(signing.verify({}, payload, signature), "an unknown key never verifies")
        self.assertEqual(os.stat(f"{self.keydir}/signing.pem").st_mode & 0o077, 0, "private key for its owner only")
        with open(f"{self.keydir}/rsa.pem", "w") as handle:
            handle.write("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        with self.assertRaises(signing.SigningError):
            signing.load_private_key(f"{self.keydir}/rsa.pem")

    def test_hashed_columns_are_one_list(self):
        self.assertIs(chain.ROW_FIELDS, chain.HASHED_COLUMNS)
        row = dict(self.trail.rows[0])
        for name in chain.HASHED_COLUMNS:
            changed = dict(row, **{name: "x" if row[name] != "x" else "y"})
            self.assertNotEqual(chain.row_hash("", changed), chain.row_hash("", row), name)

    # ------------------------------------------------------------------
    # Stores
    # ------------------------------------------------------------------

    def test_local_store_appends_and_survives_a_torn_line(self):
        path = self.store.path(DATABASE, 1)
        self.assertEqual(len(self.store.records(DATABASE, 1)), 3)
        size = os.path.getsize(path)
        with open(path, "ab") as handle:
            handle.write(b'{"format": "sales_document_audit.anch')  # a crash in the middle of a line
        self.trail.add(1)
        self.trail.seal()
        with open(path, "rb") as handle:
            self.assertTrue(handle.read(size).endswith(b"\n"), "earlier lines are never rewritten")
        self.assertEqual(len(self.store.records(DATABASE, 1)), 4)
        self.assertEqual(self.store.records(DATABASE, 2), [])
        self.assertTrue(self.trail.verify(self.public_keys)["ok"])
        with self.assertRaises(anchors.AnchorError):
            anchors.LocalAnchorStore("relative/dir")

    def test_object_store_keeps_every_version(self):
        class Backend:
            def __init__(self):
                self.objects = {}

            def describe(self):
                return "memory"

            def put(self, key, data):
                self.objects.setdefault(key, []).append(data)
                return {"version_id": str(len(self.objects[key]))}

            def keys(self, prefix):
                return [key for key in self.objects if key.startswith(prefix)]

            def versions(self, key):
                return list(self.objects[key])

        backend = Backend()
        store = anchors.ObjectAnchorStore(backend, "pre")
        trail = Trail(self.key, store)
        trail.add(2)
        checkpoint = trail.seal()
        self.assertTrue(trail.verify(self.public_keys)["ok"])
        (key,) = backend.objects
        self.assertTrue(key.startswith(f"pre/audit-anchors/{DATABASE}/company1/000000000001-"))
        # Someone with write access overwrites the anchor with a checkpoint signed by another key.
        other = signing.generate_key_pair(f"{self.dir}/o.pem", f"{self.dir}/o.pub")
        payload = signing.checkpoint_payload(dict(checkpoint, merkle_root="0" * 64), DATABASE,
                                             signing.fingerprint(other))
        backend.objects[key].append(anchors.encode(anchors.make_record(
            payload, signing.sign(other, payload), "", "")).encode())
        self.assertBroken(trail.verify(self.public_keys), "bad_signature")

    # ------------------------------------------------------------------
    # Verification
    # ------------------------------------------------------------------

    def test_intact_trail(self):
        result = self.trail.verify(self.public_keys)
        self.assertTrue(result["ok"], result)
        self.assertEqual((result["checked"], result["anchored"], result["unanchored"]), (9, 3, 0))
        self.assertFalse(result["reason"])
        without = self.trail.verify(None, records=None)
        self.assertTrue(without["ok"])

    def test_rewritten_row_with_every_hash_recomputed(self):
        victim = self.trail.rows[4]
        victim["changes"] = json.dumps({"fields": {"amount_total": [1, 1]}})
        # The owner of the database holds no signing key: he signs with one of his own.
        attacker = signing.generate_key_pair(f"{self.dir}/a.pem", f"{self.dir}/a.pub")
        self.trail.reseal_all(key=attacker)
        # The chain agrees with itself: only anchors (or signatures) can tell.
        self.assertTrue(verifier.verify_company(self.trail.checkpoints, self.trail.rows_for)["ok"])
        self.assertBroken(self.trail.verify(self.public_keys), "row_rewritten", victim["id"], 5)
        self.assertBroken(self.trail.verify(self.public_keys, records=[]), "bad_signature")

    def test_removed_middle_row_resealed(self):
        removed = self.trail.rows.pop(3)
        self.trail.reseal_all()
        result = self.trail.verify(self.public_keys)
        self.assertBroken(result, "row_removed", self.trail.rows[3]["id"], 4)
        self.assertNotEqual(result["first_broken_id"], removed["id"])

    def test_removed_middle_row_not_resealed(self):
        self.trail.rows.pop(3)
        self.assertBroken(self.trail.verify(self.public_keys), "row_removed", self.trail.rows[3]["id"], 4)

    def test_removed_tail(self):
        last = self.trail.checkpoints.pop()
        del self.trail.rows[last["first_sequence"] - 1:]
        self.assertTrue(verifier.verify_company(self.trail.checkpoints, self.trail.rows_for)["ok"],
                        "without anchors a removed tail leaves no trace")
        self.assertBroken(self.trail.verify(self.public_keys), "tail_removed", last["last_log_id"], 6)
        # Part of the last checkpoint only.
        self.setUp()
        del self.trail.rows[-2:]
        self.assertBroken(self.trail.verify(self.public_keys), "tail_removed", sequence=8)

    def test_restarted_chain(self):
        self.trail.rows = []
        self.trail.checkpoints = []
        self.trail.next_id = 500
        self.trail.add(2)
        checkpoint = self.trail.seal(anchor=False)
        result = self.trail.verify(self.public_keys)
        self.assertBroken(result, "chain_restarted", self.trail.rows[0]["id"], 1)
        # The new chain anchored next to the old one: still a restart, not a mere fork.
        self.store.append(anchors.make_record(
            signing.checkpoint_payload(checkpoint, DATABASE, checkpoint["key_fingerprint"]), checkpoint["signature"],
            chain.leaf_prefixes([row["hash"] for row in self.trail.rows]), self.trail.rows[-1]["hash"],
        ))
        self.assertBroken(self.trail.verify(self.public_keys), "chain_restarted", self.trail.rows[0]["id"], 1)
        self.trail.rows = []
        self.trail.checkpoints = []
        self.assertBroken(self.trail.verify(self.public_keys), "tail_removed", sequence=1)
        self.assertEqual(set(verifier.PRIORITY), set(verifier.REASONS))

    def test_forked_anchors(self):
        forked = Trail(self.key, self.store)
        forked.next_id = 900
        forked.add(3)
        forked.seal()
        self.assertBroken(self.trail.verify(self.public_keys), "chain_forked", sequence=1)

    def test_forged_checkpoint_signature(self):
        forger = signing.generate_key_pair(f"{self.dir}/f.pem", f"{self.dir}/f.pub")
        checkpoint = self.trail.checkpoints[1]
        payload = signing.checkpoint_payload(checkpoint, DATABASE, signing.fingerprint(self.key))
        checkpoint["signature"] = signing.sign(forger, payload)
        self.assertBroken(self.trail.verify(self.public_keys), "bad_signature", checkpoint["first_log_id"], 4)
        self.assertBroken(self.trail.verify(None), "bad_signature", checkpoint["first_log_id"], 4)
        checkpoint["signature"] = ""
        self.assertBroken(self.trail.verify(self.public_keys), "signature_missing", checkpoint["first_log_id"])

    def test_gap_in_anchoring_and_grace(self):
        self.trail.add(1)
        pending = self.trail.seal(anchor=False, sealed_at="2026-01-01 11:20:00")
        result = self.trail.verify(self.public_keys)
        self.assertTrue(result["ok"], "a checkpoint within the grace period may wait for its anchor")
        self.assertEqual(result["unanchored"], 1)
        self.assertBroken(self.trail.verify(self.public_keys, grace_seconds=60), "not_anchored",
                          pending["first_log_id"])
        self.trail.add(1)
        self.trail.seal()
        self.assertBroken(self.trail.verify(self.public_keys), "anchor_gap", pending["first_log_id"], 10)

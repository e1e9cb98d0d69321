from odoo.tests import BaseCase, tagged

from ..lib import manifest


@tagged("post_install", "-at_install")
class TestManifest(BaseCase):
    def test_chain_detects_edit_removal_and_reorder(self):
        payloads = [{"seq": i, "res_model": "sale.order", "res_id": i, "sha256": f"{i:064d}"} for i in range(5)]
        entries = manifest.chain_entries(manifest.GENESIS, payloads)
        self.assertEqual(entries[0]["prev_hash"], manifest.GENESIS)
        self.assertEqual(entries[3]["prev_hash"], entries[2]["hash"])
        self.assertTrue(manifest.verify_chain(entries, manifest.GENESIS)["ok"])
        edited = [dict(e) for e in entries]
        edited[2]["res_id"] = 99
        self.assertEqual(manifest.verify_chain(edited, manifest.GENESIS)["first_broken"], 2)
        removed = entries[:2] + entries[3:]
        self.assertEqual(manifest.verify_chain(removed, manifest.GENESIS)["first_broken"], 2)
        swapped = [entries[0], entries[2], entries[1]] + entries[3:]
        self.assertEqual(manifest.verify_chain(swapped, manifest.GENESIS)["first_broken"], 1)
        # A continuation batch links to the previous batch's last hash.
        more = manifest.chain_entries(entries[-1]["hash"], [{"seq": 5}])
        self.assertTrue(manifest.verify_chain(more, entries[-1]["hash"])["ok"])
        self.assertFalse(manifest.verify_chain(more, manifest.GENESIS)["ok"])

    def test_compare_stats(self):
        base = {"order": {"count": 2, "amount_total": "10.50", "digest": "a"}}
        self.assertEqual(manifest.compare_stats(base, {"order": {"count": 2, "amount_total": "10.5", "digest": "a"}}), [])
        problems = manifest.compare_stats(base, {"order": {"count": 1, "amount_total": "3", "digest": "b"}})
        self.assertEqual(len(problems), 3)
        self.assertTrue(manifest.compare_stats(base, {}))

    def test_canonical_json_is_stable(self):
        self.assertEqual(manifest.canonical_json({"b": 1, "a": "é"}), '{"a":"é","b":1}'.encode())

    def test_secrets_left_out(self):
        for name in ("access_token", "payment_token_id", "signature", "approval_signature", "password",
                     "client_secret", "api_key", "PASSWORD_HASH"):
            self.assertTrue(manifest.is_secret_field(name), name)
        for name in ("name", "partner_id", "amount_total", "signed_by", "state"):
            self.assertFalse(manifest.is_secret_field(name), name)
        row = {"name": "S1", "access_token": "abc", "lines": [{"id": 1, "signature": "xyz", "qty": 2}]}
        self.assertEqual(manifest.without_secrets(row), {"name": "S1", "lines": [{"id": 1, "qty": 2}]})

import base64
import os
import tempfile

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from odoo.tests import BaseCase, tagged

from ..lib import print_token as pt

VALUES = {
    "number": "INV/2026/00042",
    "date": "2026-03-01",
    "customer": [7, "Acme Trading Co."],
    "amount": "EUR 1234.50",
    "lines": pt.lines_value([(3, 2, 100.0), (4, 1.5, 50)]),
    "status": "posted",
}


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw(token):
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


@tagged("post_install", "-at_install")
class TestPrintToken(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hmac = pt.HmacSigner("database-secret-1")
        cls.ed = pt.Ed25519Signer(ed25519.Ed25519PrivateKey.generate())
        cls.signers = {pt.ALG_HMAC: cls.hmac, pt.ALG_ED25519: cls.ed}
        cls.digests = pt.component_digests("account.move", 42, VALUES)

    def _token(self, signer=None, model="account.move", res_id=42, context=b"db-1"):
        return pt.encode(model, res_id, 1_780_000_000, self.digests, signer or self.hmac, context=context)

    def test_round_trip_both_algorithms(self):
        """A token decodes to what was printed, with either signature."""
        for signer in (self.hmac, self.ed):
            token = pt.decode(self._token(signer), self.signers, context=b"db-1")
            self.assertEqual(token.model, "account.move")
            self.assertEqual(token.res_id, 42)
            self.assertEqual(token.printed_at, 1_780_000_000)
            self.assertEqual(token.alg, signer.alg)
            self.assertEqual(pt.changed_components(token, self.digests), [])

    def test_compact_enough_for_a_qr_code(self):
        """URL-safe text, short enough for a small QR code."""
        hmac_token, ed_token = self._token(self.hmac), self._token(self.ed)
        self.assertLessEqual(len(hmac_token), 100)
        self.assertLessEqual(len(ed_token), 160)
        for token in (hmac_token, ed_token):
            self.assertRegex(token, r"^[A-Za-z0-9_-]+$")
        # Large ids stay compact and round-trip.
        big = pt.encode("sale.order", 2**40 + 5, 0, self.digests, self.hmac)
        self.assertEqual(pt.decode(big, self.signers).res_id, 2**40 + 5)

    def test_every_flipped_byte_is_refused(self):
        """Changing any byte of a token (kind, id, time, digests, signature) breaks it."""
        for signer in (self.hmac, self.ed):
            raw = _raw(self._token(signer))
            for position in range(len(raw)):
                forged = bytearray(raw)
                forged[position] ^= 0x01
                with self.assertRaises(pt.InvalidToken, msg=f"byte {position}"):
                    pt.decode(_b64(bytes(forged)), self.signers, context=b"db-1")

    def test_one_text_per_token(self):
        """The spare bits of the last character cannot make a second text of the same token."""
        token = self._token(self.hmac)
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        for char in alphabet:
            if char != token[-1]:
                with self.assertRaises(pt.InvalidToken, msg=char):
                    pt.decode(token[:-1] + char, self.signers, context=b"db-1")
        self.assertEqual(pt.decode(token, self.signers, context=b"db-1").res_id, 42)

    def test_wrong_key_context_or_algorithm_is_refused(self):
        token = self._token(self.hmac)
        with self.assertRaises(pt.InvalidToken):
            pt.decode(token, {pt.ALG_HMAC: pt.HmacSigner("another-secret")}, context=b"db-1")
        with self.assertRaises(pt.InvalidToken, msg="another database sharing the key"):
            pt.decode(token, self.signers, context=b"db-2")
        with self.assertRaises(pt.InvalidToken, msg="HMAC not accepted when only Ed25519 is"):
            pt.decode(token, {pt.ALG_ED25519: self.ed}, context=b"db-1")
        other_ed = pt.Ed25519Signer(ed25519.Ed25519PrivateKey.generate())
        with self.assertRaises(pt.InvalidToken):
            pt.decode(self._token(self.ed), {pt.ALG_ED25519: other_ed}, context=b"db-1")

    def test_garbage_is_refused(self):
        for text in ("", "x", "!!!!", "A" * 1000, "é", None, _b64(b"\x12\x03" + b"\x00" * 70)):
            with self.assertRaises(pt.InvalidToken, msg=repr(text)):
                pt.decode(text, self.signers)

    def test_a_hmac_token_cannot_be_passed_off_as_ed25519(self):
        raw = bytearray(_raw(self._token(self.hmac)))
        raw[0] = (pt.VERSION << 4) | pt.ALG_ED25519
        with self.assertRaises(pt.InvalidToken):
            pt.decode(_b64(bytes(raw)), self.signers, context=b"db-1")

    def test_changed_components_names_what_differs(self):
        token = pt.decode(self._token(), self.signers, context=b"db-1")
        changed = dict(VALUES, amount="EUR 1234.51", lines=pt.lines_value([(3, 2, 100.0), (4, 2, 50)]))
        self.assertEqual(
            pt.changed_components(token, pt.component_digests("account.move", 42, changed)), ["amount", "lines"]
        )
        # Digests are bound to the document: the same values on another id differ everywhere.
        self.assertEqual(
            pt.changed_components(token, pt.component_digests("account.move", 43, VALUES)), list(pt.COMPONENTS)
        )

    def test_lines_value_ignores_row_order_and_number_spelling(self):
        self.assertEqual(pt.lines_value([(1, 2, 10), (2, 1, 5.0)]), pt.lines_value([(2, 1.0, 5), (1, 2.0, 10.0)]))
        self.assertNotEqual(pt.lines_value([(1, 2, 10)]), pt.lines_value([(1, 2, 10.01)]))

    def test_ed25519_key_from_pem_file(self):
        key = ed25519.Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "signing.pem")
            with open(path, "wb") as handle:
                handle.write(pem)
            signer = pt.Ed25519Signer.from_pem_file(path)
            token = pt.encode("sale.order", 1, 0, self.digests, signer)
            public_only = pt.Ed25519Signer(public_key=key.public_key())
            self.assertEqual(pt.decode(token, {pt.ALG_ED25519: public_only}).res_id, 1)
            with open(path, "w") as handle:
                handle.write("not a key")
            with self.assertRaises(ValueError):
                pt.Ed25519Signer.from_pem_file(path)

"""Signed tokens printed on sales documents, independent of Odoo.

A token says: "document ``kind``/``res_id`` showed these values when it was
printed at ``printed_at``". The values themselves are not in the token, only
a short digest of each of them (number, date, customer, amount, lines,
status), so the page that checks a token can tell which of them changed
since printing without the token carrying anything but what the paper shows.

Binary layout, then base64url without padding::

    1 byte   version (high 4 bits) and signature algorithm (low 4 bits)
    1 byte   document kind (see KINDS)
    varint   document id (unsigned LEB128)
    4 bytes  print time, Unix seconds, big endian
    6 x 8    digests of COMPONENTS, in that order
    rest     signature: Ed25519 (64 bytes) or HMAC-SHA256 cut to 16 bytes

The signature covers a fixed prefix, a ``context`` (the database identity,
so a token of one database never verifies in another one sharing the key)
and every byte before the signature.
"""

import base64
import hashlib
import hmac
import json
import struct
from collections import namedtuple

VERSION = 1
ALG_ED25519 = 1
ALG_HMAC = 2

KINDS = {"sale.order": 1, "stock.picking": 2, "account.move": 3}
MODELS = {code: model for model, code in KINDS.items()}

# What the paper shows, in token order.
COMPONENTS = ("number", "date", "customer", "amount", "lines", "status")
DIGEST_SIZE = 8
HMAC_SIZE = 16
ED25519_SIZE = 64
SIGNED_PREFIX = b"sales_document_audit/print_token/v1\x00"
HMAC_KEY_LABEL = b"sales_document_audit print token key v1"

Token = namedtuple("Token", "alg model res_id printed_at digests")


class InvalidToken(ValueError):
    """The text is not a token, or its signature does not verify."""


# ----------------------------------------------------------------------
# Digests of what the paper shows
# ----------------------------------------------------------------------


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def lines_value(lines):
    """Order-independent form of ``lines``: (product, quantity, price) tuples.

    Numbers are written with a fixed number of decimals so that 2 and 2.0
    give the same digest; the list is sorted so that the row order of the
    lines (which the database does not guarantee) plays no part.
    """
    return sorted(
        [str(product or ""), f"{float(quantity or 0.0):.6f}", f"{float(price or 0.0):.6f}"]
        for product, quantity, price in lines
    )


def component_digests(model, res_id, values):
    """8-byte digest of each of COMPONENTS of ``values`` (a mapping).

    Each digest binds the document (kind and id) and the component name, so
    that no digest can be moved to another document or another component.
    """
    kind = KINDS[model]
    digests = []
    for name in COMPONENTS:
        text = _canonical([kind, int(res_id), name, values.get(name)])
        digests.append(hashlib.sha256(text.encode("utf-8")).digest()[:DIGEST_SIZE])
    return tuple(digests)


def changed_components(token, digests):
    """Names of the components whose digest in ``token`` differs from ``digests``."""
    return [
        name
        for name, printed, current in zip(COMPONENTS, token.digests, digests, strict=True)
        if not hmac.compare_digest(printed, current)
    ]


# ----------------------------------------------------------------------
# Signers
# ----------------------------------------------------------------------


class HmacSigner:
    """HMAC-SHA256 with a key derived from a secret (the database secret)."""

    alg = ALG_HMAC
    size = HMAC_SIZE

    def __init__(self, secret):
        if not secret:
            raise ValueError("an HMAC signer needs a secret")
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        self._key = hmac.new(secret, HMAC_KEY_LABEL, hashlib.sha256).digest()

    def sign(self, message):
        return hmac.new(self._key, message, hashlib.sha256).digest()[: self.size]

    def verify(self, message, signature):
        return hmac.compare_digest(self.sign(message), signature)


class Ed25519Signer:
    """Ed25519 with a private key (signs and verifies) or a public key (verifies)."""

    alg = ALG_ED25519
    size = ED25519_SIZE

    def __init__(self, private_key=None, public_key=None):
        if private_key is None and public_key is None:
            raise ValueError("an Ed25519 signer needs a key")
        self._private = private_key
        self._public = public_key or private_key.public_key()

    @classmethod
    def from_pem_file(cls, path):
        """Signer of the PEM private key at ``path`` (unencrypted, PKCS#8)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        with open(path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return cls(private_key=key)

    def sign(self, message):
        if self._private is None:
            raise ValueError("this signer only holds a public key")
        return self._private.sign(message)

    def verify(self, message, signature):
        from cryptography.exceptions import InvalidSignature

        try:
            self._public.verify(signature, message)
        except InvalidSignature:
            return False
        return True


# ----------------------------------------------------------------------
# Encoding
# ----------------------------------------------------------------------


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data, pos):
    value = shift = 0
    while pos < len(data) and shift <= 63:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise InvalidToken("bad document id")


def _b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text):
    if not isinstance(text, str) or not text or len(text) > 400:
        raise InvalidToken("not a token")
    try:
        raw = text.encode("ascii")
        data = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (ValueError, UnicodeEncodeError) as error:
        raise InvalidToken("not a token") from error
    # One text per token: the decoder ignores the spare bits of the last
    # character, which would let several texts stand for the same token.
    if _b64encode(data) != text:
        raise InvalidToken("not a token")
    return data


def _signed_message(context, body):
    if isinstance(context, str):
        context = context.encode("utf-8")
    return SIGNED_PREFIX + struct.pack(">H", len(context)) + context + body


def encode(model, res_id, printed_at, digests, signer, context=b""):
    """The signed token text of a document printed at ``printed_at`` (Unix seconds)."""
    if len(digests) != len(COMPONENTS) or any(len(d) != DIGEST_SIZE for d in digests):
        raise ValueError("one 8-byte digest per component is needed")
    body = (
        bytes([(VERSION << 4) | signer.alg, KINDS[model]])
        + _varint(int(res_id))
        + struct.pack(">I", int(printed_at))
        + b"".join(digests)
    )
    return _b64encode(body + signer.sign(_signed_message(context, body)))


def decode(text, signers, context=b""):
    """The Token of ``text`` once its signature verified, else InvalidToken.

    ``signers`` maps an algorithm (ALG_ED25519, ALG_HMAC) to the signer that
    may verify it; a token signed with an algorithm that is not in it is
    refused, whatever its bytes.
    """
    data = _b64decode(text)
    if len(data) < 2:
        raise InvalidToken("too short")
    version, alg = data[0] >> 4, data[0] & 0x0F
    if version != VERSION:
        raise InvalidToken("unknown version")
    signer = signers.get(alg)
    if signer is None:
        raise InvalidToken("signature algorithm not accepted")
    model = MODELS.get(data[1])
    if model is None:
        raise InvalidToken("unknown document kind")
    res_id, pos = _read_varint(data, 2)
    end = pos + 4 + DIGEST_SIZE * len(COMPONENTS)
    if len(data) != end + signer.size:
        raise InvalidToken("bad length")
    body, signature = data[:end], data[end:]
    if not signer.verify(_signed_message(context, body), signature):
        raise InvalidToken("bad signature")
    (printed_at,) = struct.unpack(">I", data[pos : pos + 4])
    digests = tuple(
        data[pos + 4 + i * DIGEST_SIZE : pos + 4 + (i + 1) * DIGEST_SIZE] for i in range(len(COMPONENTS))
    )
    if res_id <= 0:
        raise InvalidToken("bad document id")
    return Token(alg, model, res_id, printed_at, digests)

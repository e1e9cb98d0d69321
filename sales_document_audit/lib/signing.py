"""Ed25519 signatures of audit checkpoints (``cryptography``, no Odoo).

The private key lives in a PEM file named by the server configuration and
never enters the database; each signature records the fingerprint of the
public key, so a verifier holding several public keys (after a key change)
knows which one to use.
"""

import base64
import hashlib

from . import chain

PAYLOAD_FORMAT = "sales_document_audit.checkpoint/1"

# Checkpoint values covered by the signature, besides the format, the
# database and the key fingerprint.
SIGNED_FIELDS = (
    "company_id",
    "first_sequence",
    "last_sequence",
    "first_log_id",
    "last_log_id",
    "row_count",
    "merkle_root",
    "prev_hash",
    "hash",
    "sealed_at",
)


class SigningError(Exception):
    """A key cannot be read or is not an Ed25519 key."""


def _serialization():
    from cryptography.hazmat.primitives import serialization

    return serialization


def load_private_key(path, password=None):
    """The Ed25519 private key of the PEM file ``path``."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    try:
        with open(path, "rb") as handle:
            key = _serialization().load_pem_private_key(
                handle.read(), password=password.encode() if password else None
            )
    except (OSError, ValueError, TypeError) as exc:
        raise SigningError(f"Cannot read the signing key {path}: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise SigningError(f"The signing key {path} is not an Ed25519 key.")
    return key


def load_public_key(path):
    """The Ed25519 public key of a PEM file (a public key, or a private key's public half)."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise SigningError(f"Cannot read the public key {path}: {exc}") from None
    try:
        key = _serialization().load_pem_public_key(data)
    except ValueError:
        try:
            key = _serialization().load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as exc:
            raise SigningError(f"Cannot read the public key {path}: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise SigningError(f"The public key {path} is not an Ed25519 key.")
    return key


def generate_key_pair(private_path, public_path):
    """Write a new Ed25519 key pair (PEM, private file readable by its owner only)."""
    import os

    from cryptography.hazmat.primitives.asymmetric import ed25519

    serialization = _serialization()
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    with open(public_path, "wb") as handle:
        handle.write(public_pem(key.public_key()))
    return key


def public_pem(public_key):
    serialization = _serialization()
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key):
    """``sha256:<hex>`` of the raw public key (of a public or private key)."""
    serialization = _serialization()
    public = key.public_key() if hasattr(key, "public_key") else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def checkpoint_payload(checkpoint, database, key_fingerprint):
    """The canonical payload a checkpoint signature covers (a dict)."""
    payload = {"format": PAYLOAD_FORMAT, "database": database, "key_fingerprint": key_fingerprint}
    for name in SIGNED_FIELDS:
        value = checkpoint.get(name)
        if name == "sealed_at":
            value = chain.format_time(value)
        elif name == "company_id":
            value = value or None
        elif name == "prev_hash":
            value = value or ""
        payload[name] = value
    return payload


def payload_bytes(payload):
    return chain.canonical_json(payload).encode("utf-8")


def sign(private_key, payload):
    """Base64 Ed25519 signature of ``payload``."""
    return base64.b64encode(private_key.sign(payload_bytes(payload))).decode("ascii")


def verify(public_keys, payload, signature):
    """Whether ``signature`` of ``payload`` is valid for the key the payload names.

    ``public_keys`` maps fingerprints to public keys.
    """
    from cryptography.exceptions import InvalidSignature

    key = public_keys.get(payload.get("key_fingerprint"))
    if key is None or not signature:
        return False
    try:
        key.verify(base64.b64decode(signature, validate=True), payload_bytes(payload))
    except (InvalidSignature, ValueError):
        return False
    return True


def key_map(keys):
    """``{fingerprint: public key}`` of a list of keys (public or private)."""
    result = {}
    for key in keys:
        public = key.public_key() if hasattr(key, "public_key") else key
        result[fingerprint(public)] = public
    return result

"""Helpers shared by the backup tests: keys, a loopback S3 server, config."""

import os
import shutil
import socket
import tempfile
from contextlib import contextmanager

from odoo.addons.sales_document_registry.tests.common import set_server_option

from ..lib import crypto

_KEYS = {}


def key_pair(label="main"):
    """(private path, public path) of an RSA pair generated once per run."""
    if label not in _KEYS:
        directory = tempfile.mkdtemp(prefix=f"sdb-keys-{label}-")
        private, public = os.path.join(directory, "private.pem"), os.path.join(directory, "public.pem")
        crypto.generate_key_pair(private, public, key_size=2048)
        _KEYS[label] = (private, public)
    return _KEYS[label]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoS3:
    """An S3-protocol server (moto) listening on loopback for the tests."""

    access_key = "testing-access"
    secret_key = "testing-secret"

    def __init__(self):
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.running = False

    def start(self):
        self._server.start()
        self.running = True
        return self

    def stop(self):
        if self.running:
            self._server.stop()
            self.running = False

    def credentials(self):
        return {"access_key": self.access_key, "secret_key": self.secret_key, "region": "us-east-1"}

    def client(self):
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
        )

    def create_bucket(self, name):
        self.client().create_bucket(Bucket=name)
        return name


@contextmanager
def temp_dir(prefix="sdb-test-"):
    path = tempfile.mkdtemp(prefix=prefix)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class BackupConfigMixin:
    """Set backup options in the Odoo configuration for a test class, and
    restore the previous values afterwards."""

    @classmethod
    def _set_backup_options(cls, **options):
        for name, value in options.items():
            set_server_option(cls, f"sales_backup_{name}", value, add_cleanup=cls.addClassCleanup)

    @classmethod
    def _set_up_local_backup(cls, label, code, name, **options):
        """Keys, backup options and a local destination in a temporary directory, for a test class.

        The system temporary directory is the allowed root (``sales_backup_allowed_roots``)
        unless ``options`` name another. Returns ``(destination, directory, private key
        path, public key path)``.
        """
        private, public = key_pair(label)
        directory = tempfile.mkdtemp(prefix=f"sd-{label}-")
        cls.addClassCleanup(shutil.rmtree, directory, True)
        options.setdefault("allowed_roots", tempfile.gettempdir())
        cls._set_backup_options(public_key=public, private_key=private, **options)
        destination = cls.env["sales.document.backup.destination"].create(
            {"name": name, "code": code, "kind": "local", "path": directory}
        )
        return destination, directory, private, public

    @staticmethod
    def _action_record(env, action):
        """The record a window action returned by a public action opens."""
        return env[action["res_model"]].browse(action["res_id"])

    @staticmethod
    def _s3_option(company, code, field):
        """Name (without ``sales_backup_``) of a credential option of a destination."""
        return f"s3_company{company.id}_{code}_{field}"

    def _set_option(self, name, value):
        """Same, for the duration of one test."""
        set_server_option(self, f"sales_backup_{name}", value)

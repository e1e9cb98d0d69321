{
    "name": "Sales Document Backup",
    "summary": "Encrypted, redundant backups, a per-document journal and "
    "scheduled restore tests",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Sales Document Registry contributors",
    "website": "https://github.com/sales-document-registry/sales-document-registry",
    "depends": ["sales_document_registry"],
    "external_dependencies": {"python": ["cryptography", "boto3"]},
    "data": [
        "security/sales_document_backup_groups.xml",
    ],
    "installable": True,
    "application": False,
}

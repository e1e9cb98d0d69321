{
    "name": "Sales Document Audit",
    "summary": "Tamper-evident audit trail, access logging, anomaly alerts and "
    "role-based access for sales documents",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Sales Document Registry contributors",
    "website": "https://github.com/sales-document-registry/sales-document-registry",
    "depends": ["sales_document_registry"],
    "data": [
        "security/sales_document_audit_groups.xml",
    ],
    "installable": True,
    "application": False,
}

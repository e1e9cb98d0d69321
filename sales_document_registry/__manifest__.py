{
    "name": "Sales Document Registry",
    "summary": "One standard, one registry and one process for every sales "
    "document: orders, deliveries, invoices, credit notes and payments",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "license": "LGPL-3",
    "author": "Sales Document Registry contributors",
    "website": "https://github.com/sales-document-registry/sales-document-registry",
    "depends": ["sale_management", "sale_stock", "stock_delivery", "account"],
    "data": [
        "security/sales_document_registry_groups.xml",
    ],
    "installable": True,
    "application": False,
}

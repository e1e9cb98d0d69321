"""Plain Python building blocks of the audit addon (no Odoo imports).

``print_token`` makes and checks the signed tokens printed as QR codes on
orders, delivery slips, invoices and credit notes.
"""

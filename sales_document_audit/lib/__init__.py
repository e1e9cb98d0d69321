"""Plain Python building blocks of the audit addon (no Odoo imports).

``print_token`` makes and checks the signed tokens printed as QR codes on
orders, delivery slips, invoices and credit notes.
``chain`` hashes rows and checkpoints, ``signing`` signs checkpoints with
Ed25519, ``anchors`` keeps signed checkpoints outside the database and
``verifier`` checks a trail against them. ``verify.py`` is the command line
verifier an auditor runs without Odoo.
"""

"""Plain Python building blocks of the audit addon (no Odoo imports).

``chain`` hashes rows and checkpoints, ``signing`` signs checkpoints with
Ed25519, ``anchors`` keeps signed checkpoints outside the database and
``verifier`` checks a trail against them. ``verify.py`` is the command line
verifier an auditor runs without Odoo.
"""

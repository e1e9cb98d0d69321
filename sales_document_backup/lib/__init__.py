"""Plain Python building blocks of the backup addon (no Odoo imports).

They can be used and tested alone, and by the command line tool ``cli.py``
on a server where Odoo is not running (restoring onto a new machine).
"""

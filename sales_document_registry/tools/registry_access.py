"""Record rules of a document model, read on its registry row.

A user sees a registry row when they may read the document behind it: the
record rules of the document's model decide. A rule that only compares
fields the row holds as they are (salesperson, team, company, customer, the
customer's salesperson) is answered on the row itself, with the registry's
own indexes; any other rule is answered by a sub-query on the document table
(``res_id IN (SELECT id FROM <document> WHERE <rule>)``).

The rewrite is exact or refused: each source declares which fields (and
paths) of its model are, on every one of its rows, equal to a registry
column (``DocumentSource.access_fields``) and which conditions all its rows
meet (``access_conditions``). A rule domain is rewritten only when every
leaf is one of:

- ``TRUE``/``FALSE`` leaves;
- a condition every row meets (``move_type in (out_invoice, out_refund)`` on
  invoices), which becomes ``TRUE``;
- a field of the document mapped to a column, compared with ``=``, ``!=``,
  ``in`` or ``not in`` to ids or ``False``: the column is a many2one to the
  same model holding the same value, so the ORM gives both the same meaning,
  ``False`` (``IS NULL``) included;
- a path of the document (``partner_id.commercial_partner_id.user_id``)
  mapped to a column, compared with ``=`` or ``in`` to ids only: the ORM
  answers a path with a sub-query that is false when the first step is
  empty, and so is the column then; ``False`` and the negative operators
  would differ there, so they are refused.

A domain with a negation (``!``) is refused too: the ORM pushes it into the
leaves, where a path and its column disagree on empty values. Anything
refused keeps the sub-query, which is always right.
"""

from odoo.osv import expression

DIRECT_OPERATORS = ("=", "!=", "in", "not in")
PATH_OPERATORS = ("=", "in")


def row_domain(source, domain):
    """``domain`` (a record rule domain of ``source.model``, evaluated) on registry columns, or None.

    None means the row cannot answer it: use the sub-query. The result is
    simplified (``TRUE`` dropped from conjunctions, repeated conditions
    merged, conditions sorted), so that models whose rules read the same
    on the row share one condition.
    """
    fields = {"company_id": "company_id", **dict(source.access_fields)}
    conditions = {name: set(values) for name, values in source.access_conditions}
    result = []
    for leaf in expression.normalize_domain(domain):
        if expression.is_operator(leaf):
            if leaf == expression.NOT_OPERATOR:
                return None
            result.append(leaf)
            continue
        mapped = _row_leaf(leaf, fields, conditions)
        if mapped is None:
            return None
        result.append(mapped)
    return _to_domain(_simplify(_parse(iter(result))))


def _is_id(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _row_leaf(leaf, fields, conditions):
    """One leaf on registry columns, or None."""
    leaf = tuple(leaf)
    if leaf in (expression.TRUE_LEAF, expression.FALSE_LEAF):
        return leaf
    if len(leaf) != 3 or not isinstance(leaf[0], str):
        return None
    name, operator, value = leaf
    if name in conditions:
        needed = conditions[name]
        if operator == "in" and isinstance(value, (list, tuple)) and needed <= set(value):
            return expression.TRUE_LEAF
        if operator == "=" and needed == {value}:
            return expression.TRUE_LEAF
        return None
    column = fields.get(name)
    if column is None:
        return None
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if "." in name:
        # A path: ids only, positive operators only (see the module docstring).
        if operator not in PATH_OPERATORS or not all(_is_id(v) for v in values):
            return None
    elif operator not in DIRECT_OPERATORS or not all(_is_id(v) or v is False for v in values):
        return None
    if operator in ("=", "!=") and isinstance(value, (list, tuple)):
        return None
    if operator in ("in", "not in") and not isinstance(value, (list, tuple)):
        return None
    return (column, operator, values if operator in ("in", "not in") else value)


def _parse(tokens):
    """Prefix-notation domain (normalized, without ``!``) to a tree."""
    token = next(tokens)
    if token in (expression.AND_OPERATOR, expression.OR_OPERATOR):
        return (token, [_parse(tokens), _parse(tokens)])
    return token


def _simplify(node):
    """Flatten, drop neutral leaves, merge duplicates and sort (the meaning stays)."""
    if not (isinstance(node, tuple) and len(node) == 2 and node[0] in ("&", "|")):
        return node
    operator, children = node
    neutral, absorbing = (
        (expression.TRUE_LEAF, expression.FALSE_LEAF) if operator == "&"
        else (expression.FALSE_LEAF, expression.TRUE_LEAF)
    )
    flat = {}
    for child in map(_simplify, children):
        if isinstance(child, tuple) and len(child) == 2 and child[0] == operator:
            members = child[1]
        else:
            members = [child]
        for member in members:
            if member == absorbing:
                return absorbing
            if member != neutral:
                flat[repr(member)] = member
    if not flat:
        return neutral
    if len(flat) == 1:
        return next(iter(flat.values()))
    return (operator, [flat[key] for key in sorted(flat)])


def _to_domain(node):
    if isinstance(node, tuple) and len(node) == 2 and node[0] in ("&", "|"):
        operator, children = node
        result = [operator] * (len(children) - 1)
        for child in children:
            result += _to_domain(child)
        return result
    if node == expression.TRUE_LEAF:
        return []
    return [node]


def _tree(domain):
    """``domain`` as a tree (see ``_parse``), or None when it has a negation."""
    tokens = expression.normalize_domain(domain)
    if expression.NOT_OPERATOR in tokens:
        return None
    return _parse(iter(tokens))


def branches(domain, most=8):
    """``domain`` as an OR of conjunctions (a list of domains), or None.

    None when it has a negation or more than ``most`` conjunctions. Each
    conjunction is one way a row can match; for the registry's access
    domain, one source's rule alternative (own orders, unassigned orders,
    every delivery, ...), which an index can answer in order.
    """
    node = _tree(domain)
    if node is None:
        return None
    try:
        conjunctions = _disjuncts(node, most)
    except OverflowError:
        return None
    return [[tuple(leaf) if isinstance(leaf, list) else leaf for leaf in leaves] for leaves in conjunctions]


def _disjuncts(node, most):
    """Lists of leaves whose conjunctions, OR-ed, mean ``node``; OverflowError past ``most``."""
    if not (isinstance(node, tuple) and len(node) == 2 and node[0] in ("&", "|")):
        return [[node]]
    operator, children = node
    if operator == "|":
        result = [leaves for child in children for leaves in _disjuncts(child, most)]
    else:
        result = [[]]
        for child in children:
            result = [leaves + more for leaves in result for more in _disjuncts(child, most)]
            if len(result) > most:
                raise OverflowError
    if len(result) > most:
        raise OverflowError
    return result


def conjuncts(domain):
    """``domain`` as the list of domains it is the conjunction of (each a whole
    sub-domain), or None when it has a negation."""
    node = _tree(domain)
    if node is None:
        return None
    node = _simplify(node)
    if node == expression.TRUE_LEAF:
        return []
    children = node[1] if isinstance(node, tuple) and len(node) == 2 and node[0] == "&" else [node]
    return [_to_domain(child) for child in children]


def own_or_customers_user(domain):
    """``u`` when ``domain`` is ``user_id = u OR partner_user_id = u`` (the strict
    "own customers" rule as ``row_domain`` gives it), else None."""
    if len(domain) != 3 or domain[0] != expression.OR_OPERATOR:
        return None
    leaves = [tuple(leaf) for leaf in domain[1:] if expression.is_leaf(leaf)]
    if len(leaves) != 2 or any(operator != "=" for _name, operator, _value in leaves):
        return None
    (name_a, _op, user), (name_b, _op_b, user_b) = leaves
    if user != user_b or not _is_id(user):
        return None
    return user if {name_a, name_b} == {"user_id", "partner_user_id"} else None

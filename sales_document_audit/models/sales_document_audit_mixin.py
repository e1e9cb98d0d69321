import copy
import json
import logging
from contextlib import contextmanager

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError
from odoo.tools.cache import get_cache_key_counter

_logger = logging.getLogger(__name__)

# Key of the per-transaction buffer in ``cr.precommit.data``.
BUFFER_KEY = "sales_document_audit.buffer"
# Key in ``cr.precommit.data`` of how deep the current read call is nested:
# only the outermost public read of a request is counted (``web_search_read``
# calls ``web_read``, which calls ``read``).
READ_DEPTH_KEY = "sales_document_audit.read_depth"
# Key in ``cr.precommit.data`` of the audit profiles the transaction looked
# up (``_audit_profile_now``): one registry cache lookup per model and
# transaction, however many records it writes.
PROFILES_KEY = "sales_document_audit.profiles"
# Keys of ``changes`` the capture writes itself: an annotation cannot replace them.
RESERVED_CHANGE_KEYS = frozenset({"fields", "lines", "after_validation"})

# When two operations hit one record in one transaction, the row keeps the
# strongest: a created record stays "create", a deleted one becomes "unlink".
OPERATION_RANK = {"write": 0, "create": 1, "unlink": 2}

# Field types whose cached value gives the audit value directly, without
# building a record per value (see ``audit_cache_value``).
CACHE_VALUE_TYPES = frozenset({
    "char", "text", "html", "selection", "boolean", "integer", "float", "monetary", "date", "datetime", "many2one",
})
# Default of ``env.cache.get`` meaning "not in cache" (None is a cached value).
NOT_CACHED = object()


class AuditProfile:
    """What the capture needs to know of one model, cached with the registry's caches.

    ``fields``: the audited field names; ``may_vanish``: see
    ``_audit_may_vanish``; ``watched``: ``_audit_watched_fields`` memoized
    by the written fields. It is built from the audit rules and the model's
    fields only, and is dropped with the registry's caches when a rule or
    the models change (``_audit_profile``).
    """

    __slots__ = ("fields", "may_vanish", "watched")

    def __init__(self, fields, may_vanish):
        self.fields = fields
        self.may_vanish = may_vanish
        self.watched = {}


def audit_value(field, value):
    """JSON-friendly form of a field value for the audit trail."""
    if field.type == "many2one":
        return value.id or False
    if field.type in ("one2many", "many2many"):
        return sorted(value.ids)
    if field.type in ("date", "datetime"):
        return fields.Datetime.to_string(value) if value else False
    if field.type in ("float", "monetary"):
        return float(value or 0.0)
    return value


def audit_cache_value(field, value):
    """``audit_value`` of a field of a type in ``CACHE_VALUE_TYPES``, from its cache value.

    Gives what ``audit_value(field, field.convert_to_record(value, record))``
    gives, without the record: old and new values compare equal whichever
    way they were read.
    """
    field_type = field.type
    if field_type == "many2one":
        return value or False
    if field_type in ("float", "monetary"):
        return float(value or 0.0)
    if field_type in ("date", "datetime"):
        return fields.Datetime.to_string(value) if value else False
    if field_type == "integer":
        return value or 0
    return False if value is None else value


class SalesDocumentAuditMixin(models.AbstractModel):
    """Capture of changes and accesses on sales documents and their lines.

    ``create``, ``write`` and ``unlink`` take a snapshot of the audited
    fields (old values, mostly already in cache) into a per-transaction
    buffer; just before commit the buffer is diffed against the new values
    and written as one audit row per document in a single INSERT (see
    ``sales.document.audit.log._flush_audit_buffer``). Lines roll up to their
    document through ``_audit_parent_field``.
    """

    _name = "sales.document.audit.mixin"
    _description = "Audited Sales Document"

    # On lines: the many2one holding the document the line rolls up to.
    _audit_parent_field = None
    # Fields audited when no audit rule configures the model.
    _audit_default_fields = ()
    # Fields whose change on a validated document is not an "edit after
    # validation" (state machine and reconciliation bookkeeping).
    _audit_status_fields = ("state",)
    # Fields ``_audit_is_validated`` reads: in every snapshot of a write.
    _audit_validation_fields = ("state",)

    audit_log_count = fields.Integer(
        string="Audit entries", compute="_compute_audit_log_count", groups="sales_document_audit.group_auditor"
    )

    def _compute_audit_log_count(self):
        counts = {}
        if self.ids:
            groups = self.env["sales.document.audit.log"]._read_group(
                [("res_model", "=", self._name), ("res_id", "in", self.ids)], ["res_id"], ["__count"]
            )
            counts = dict(groups)
        for record in self:
            record.audit_log_count = counts.get(record.id, 0)

    def action_open_audit_history(self):
        """Timeline of every audit entry of this document."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sales_document_audit.sales_document_audit_log_history_action"
        )
        action["domain"] = [("res_model", "=", self._name), ("res_id", "=", self.id)]
        action["display_name"] = _("Audit history of %(document)s", document=self.display_name)
        return action

    # ------------------------------------------------------------------
    # CRUD overrides: snapshot before, diff before commit
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        records._audit_capture("create")
        return records

    def write(self, vals):
        # Data files loaded while modules install or update are not audited.
        # The registry's own loading state says so, never the context: a
        # client can send ``install_mode`` with any call.
        if self and self.env.registry.ready:
            written = self._audit_fields().intersection(vals)
            if written:
                self._audit_capture("write", written)
        return super().write(vals)

    def unlink(self):
        if self:
            self._audit_capture("unlink")
        return super().unlink()

    # ------------------------------------------------------------------
    # Capture
    # ------------------------------------------------------------------

    @api.model
    def _audit_fields(self):
        """Names of the audited fields of this model (a frozenset)."""
        return self._audit_profile_now().fields

    @api.model
    @tools.ormcache()
    def _audit_profile(self):
        """This model's ``AuditProfile``, cached until a rule or the models change."""
        return AuditProfile(
            self.env["sales.document.audit.rule"]._get_audited_fields(self._name), self._audit_may_vanish()
        )

    @api.model
    def _audit_profile_now(self):
        """``_audit_profile``, looked up in the registry's cache once per transaction.

        Every audited write asks for it, and a lookup in the registry's
        cache costs more than the rest of the question. A change of the
        audit rules drops the transaction's copy (``sales.document.audit.rule``).
        """
        data = self.env.cr.precommit.data
        profiles = data.get(PROFILES_KEY)
        if profiles is None:
            profiles = data[PROFILES_KEY] = {}
        profile = profiles.get(self._name)
        if profile is None:
            # Through the cache directly: called through its decorator, an
            # ``ormcache`` method binds its signature, which costs more than the lookup.
            cache, key, counter = get_cache_key_counter(self._audit_profile)
            try:
                profile = cache[key]
                counter.hit += 1
            except KeyError:
                profile = self._audit_profile()
            profiles[self._name] = profile
        return profile

    def _audit_capture_filter(self):
        """Records worth buffering (cheap, cache-only test); documents override."""
        return self

    def _audit_is_document(self):
        """Whether this record is a sales document (checked at flush time)."""
        self.ensure_one()
        return True

    def _audit_is_validated(self, old_values):
        """Whether the document was posted/validated, given its old values."""
        return False

    def _audit_document_name(self):
        """The document's name in its audit rows (at commit time)."""
        self.ensure_one()
        return self.display_name

    @api.model
    def _audit_may_vanish(self):
        """Whether the database can delete a record of this model behind the ORM.

        It can when one of its stored many2one fields cascades on delete (or
        it is an ``_inherits`` child): deleting the referenced record through
        the ORM removes it in SQL, and the capture never hears of it. Its
        rows are then inserted only if it still exists, and one that is gone
        gets an unlink row. The sales documents themselves reference nothing
        that way: their rows are inserted without asking the database.
        """
        return bool(self._inherits) or any(
            field.type == "many2one" and field.store and field.ondelete == "cascade"
            for field in self._fields.values()
        )

    @api.model
    def _audit_watched_fields(self, written=frozenset()):
        """The audited fields a write of ``written`` (a frozenset) may change.

        Those written, those Odoo recomputes on the same records when they
        change (its own trigger tree: totals, related fields, ...), and those
        ``_audit_is_validated`` reads. With nothing written (the document is
        touched through its lines), every computed audited field. Any other
        field changes only through a write of its own, which takes its own
        snapshot then. The capture keeps the answers in the model's ``AuditProfile``.
        """
        audited = self._audit_fields()
        model_fields = self._fields
        if written:
            tree = self.pool.get_trigger_tree([model_fields[name] for name in written])
            watched = set(written).union(field.name for field in tree.root or () if field.model_name == self._name)
        else:
            watched = {name for name in audited if model_fields[name].compute}
        watched.update(self._audit_validation_fields)
        return frozenset(watched.intersection(audited))

    def _audit_snapshot(self, old=False, names=None):
        """``{id: {field: value}}`` of audited fields of ``self``.

        ``names`` are the fields taken (all audited fields by default). Values
        in cache are read from it directly; the others are loaded the usual
        way. For old values (``old=True``), a field waiting for recomputation is
        taken from the cache as it is (its value before the change) instead
        of being recomputed early; when it is not in cache it is left out.
        """
        if names is None:
            names = self._audit_fields()
        env = self.env
        cache = env.cache
        model_fields = self._fields
        specs = [(model_fields[name], model_fields[name].type in CACHE_VALUE_TYPES) for name in names]
        elevated = None
        result = {}
        for record in self:
            values = {}
            for field, direct in specs:
                value = cache.get(record, field, NOT_CACHED)
                to_compute = field.compute and env.is_to_compute(field, record)
                if value is not NOT_CACHED and (old or not to_compute) and direct:
                    # The cache is the same for every environment: no sudo needed to read it.
                    values[field.name] = audit_cache_value(field, value)
                    continue
                if old and to_compute and value is NOT_CACHED:
                    continue
                if elevated is None:
                    # sudo: the trail keeps every audited field whoever changes the
                    # document; active_test: archived related records are values too.
                    elevated = self.sudo().with_context(active_test=False)
                target = elevated.browse(record.id)
                if value is NOT_CACHED or (to_compute and not old):
                    values[field.name] = audit_value(field, target[field.name])
                else:
                    values[field.name] = audit_value(field, field.convert_to_record(value, target))
            result[record.id] = values
        return result

    def _audit_take_old(self, entries, operation, written=frozenset()):
        """Snapshot into ``entries`` (``{id: entry}``) the old values ``operation`` needs.

        An entry keeps the values of its first snapshot; a later operation
        adds the fields it needs that no snapshot took yet (``seen``): a
        field is never snapshotted twice, so its old value is always the one
        before the transaction changed it.
        """
        profile = self._audit_profile_now()
        if operation == "unlink":
            names = profile.fields
        else:
            written = frozenset(written)
            names = profile.watched.get(written)
            if names is None:
                names = profile.watched[written] = self._audit_watched_fields(written)
        to_snapshot = self.browse([
            record_id for record_id, entry in entries.items()
            if entry["op"] != "create" and not names <= entry["seen"]
        ])
        if not to_snapshot:
            return to_snapshot
        todo = {record_id: names - entries[record_id]["seen"] for record_id in to_snapshot._ids}
        snapshot = to_snapshot._audit_snapshot(old=True, names=frozenset().union(*todo.values()))
        for record_id, values in snapshot.items():
            entry = entries[record_id]
            old = entry["old"]
            if old is None:
                old = entry["old"] = {}
            for name in todo[record_id].intersection(values):
                old[name] = values[name]
            entry["seen"] = entry["seen"] | todo[record_id]
        return to_snapshot

    def _audit_take_company(self, entries):
        """Keep in ``entries`` the company of each document (for when it is gone at commit).

        For a write on a model whose records the database can delete behind
        the ORM (``_audit_may_vanish``): any other record still exists at
        commit, or was deleted through the ORM, whose unlink keeps its company.
        """
        company_field = self._fields.get("company_id")
        if company_field is None:
            return
        cache = self.env.cache
        missing = []
        for record in self:
            entry = entries[record.id]
            if entry["company_id"] or entry["op"] == "create":
                continue
            company_id = cache.get(record, company_field, NOT_CACHED)
            if company_id is NOT_CACHED:
                missing.append(record.id)
            else:
                entry["company_id"] = company_id or False
        # sudo: the company of a document the user may change is recorded whoever may read it.
        for record in self.browse(missing).sudo():
            entries[record.id]["company_id"] = record.company_id.id

    def _audit_buffer(self):
        """The transaction's audit buffer; registers the pre-commit flush once."""
        precommit = self.env.cr.precommit
        buffer = precommit.data.get(BUFFER_KEY)
        if buffer is None:
            log = self.env["sales.document.audit.log"]
            buffer = precommit.data[BUFFER_KEY] = {"docs": {}, "request": log._audit_request_info()}
            precommit.add(log._flush_audit_buffer)
        return buffer

    @api.model
    def _audit_new_entry(self, operation):
        return {
            "op": operation, "uid": self.env.uid, "old": None, "seen": frozenset(), "lines": {}, "company_id": False,
        }

    @staticmethod
    def _audit_merge_operation(entry, operation):
        if OPERATION_RANK[operation] > OPERATION_RANK[entry["op"]]:
            entry["op"] = operation

    def _audit_capture(self, operation, written=frozenset()):
        """Buffer ``operation`` on ``self`` (``written``: the audited fields a write sets)."""
        records = self._audit_capture_filter()
        if not records or not (written or records._audit_fields()):
            return
        parent_field = self._audit_parent_field
        if parent_field:
            records._audit_capture_lines(operation, parent_field, written)
        else:
            records._audit_capture_documents(operation, written)

    def _audit_capture_documents(self, operation, written=frozenset()):
        docs = self._audit_buffer()["docs"]
        entries = {}
        for record_id in self._ids:
            key = (self._name, record_id)
            entry = docs.get(key)
            if entry is None:
                entry = docs[key] = self._audit_new_entry(operation)
            else:
                self._audit_merge_operation(entry, operation)
            entries[record_id] = entry
        if operation != "create":
            self._audit_take_old(entries, operation, written)
        if operation == "write" and self._audit_profile_now().may_vanish:
            # Only a record the database can delete behind the ORM may be gone
            # at commit without an unlink of its own, which keeps its company.
            self._audit_take_company(entries)
        if operation == "unlink":
            # sudo: what a deleted document was is recorded whoever may read it.
            for record in self.sudo():
                entry = docs[(self._name, record.id)]
                entry["is_document"] = record._audit_is_document()
                entry["company_id"] = record.company_id.id
                entry["name"] = record.display_name

    def _audit_capture_lines(self, operation, parent_field, written=frozenset()):
        buffer = self._audit_buffer()
        docs = buffer["docs"]
        lines_by_doc = {}
        # sudo: a line rolls up to its document whoever may read the document.
        for line in self.sudo():
            document = line[parent_field]
            if document:
                lines_by_doc.setdefault(document, []).append(line)
        if not lines_by_doc:
            return
        # sudo: as above, the documents of the lines.
        documents = self.env[self._fields[parent_field].comodel_name].sudo().concat(*lines_by_doc)
        documents = documents._audit_capture_filter()
        # The document is touched through its lines: keep its own old values
        # too, so computed totals and states are diffed as well.
        documents.with_env(self.env)._audit_capture_documents("write")
        entries = {}
        for document in documents:
            entry = docs[(document._name, document.id)]
            for line in lines_by_doc[document]:
                line_entry = entry["lines"].get((line._name, line.id))
                if line_entry is None:
                    line_entry = entry["lines"][(line._name, line.id)] = {
                        "op": operation, "old": None, "seen": frozenset(),
                    }
                else:
                    self._audit_merge_operation(line_entry, operation)
                entries[line.id] = line_entry
        if operation != "create" and entries:
            self.browse(list(entries))._audit_take_old(entries, operation, written)

    # ------------------------------------------------------------------
    # Annotations: server code explains a change inside the trail
    # ------------------------------------------------------------------

    def _sd_audit_annotate(self, annotation):
        """Merge ``annotation`` into the ``changes`` of this transaction's audit rows of ``self``.

        For server code that explains a change in the trail itself, e.g. a
        restore from the backup journal (``{"restored_from": {...}}``). The
        annotation (a JSON-serializable dict) goes to the pending row of each
        record, whether its operations came before this call or come after
        it in the same transaction; lines annotate their document. It is a
        private method: no client can call it over RPC, and no context key
        does the same.
        """
        if not isinstance(annotation, dict):
            raise TypeError("An audit annotation is a dict.")
        reserved = RESERVED_CHANGE_KEYS.intersection(annotation)
        if reserved:
            raise ValueError(f"An audit annotation cannot set {sorted(reserved)}.")
        json.dumps(annotation)  # not JSON-serializable: fail here, not at commit
        if self._audit_parent_field:
            # sudo: the document of a line the caller may change is annotated whoever may read it.
            documents = self.sudo().mapped(self._audit_parent_field)
            documents.with_env(self.env)._sd_audit_annotate(annotation)
            return
        records = self._audit_capture_filter()
        if not records or not records._audit_fields():
            return
        docs = records._audit_buffer()["docs"]
        missing = records.filtered(lambda record: (record._name, record.id) not in docs)
        if missing:
            missing._audit_capture_documents("write")
        for record in records:
            docs[(record._name, record.id)].setdefault("annotation", {}).update(copy.deepcopy(annotation))

    # ------------------------------------------------------------------
    # Access logging: form opens, reads over RPC, exports, denied attempts
    # ------------------------------------------------------------------

    @contextmanager
    def _audit_read_call(self):
        """Yield whether this public read call is the outermost one of the request.

        ``web_search_read`` calls ``web_read``, which calls ``read``: only the
        outermost call is counted. The depth lives with the transaction,
        out of reach of the caller's context.
        """
        data = self.env.cr.precommit.data
        depth = data.get(READ_DEPTH_KEY, 0)
        data[READ_DEPTH_KEY] = depth + 1
        try:
            yield depth == 0 and not self.env.su
        finally:
            if data.get(READ_DEPTH_KEY):
                data[READ_DEPTH_KEY] -= 1

    def _audit_count_read(self, method, rows, ids=()):
        """Count one read call (``rows`` records or groups, ``ids`` the records read); a large one is logged."""
        self.env["sales.document.audit.view.counter"]._count_read(self.browse(ids), method, rows)

    @api.readonly
    def web_read(self, specification):
        with self._audit_read_call() as outermost:
            result = super().web_read(specification)
        if outermost:
            if len(self) == 1 and not self._audit_parent_field:
                # A form open: one row per document.
                self.env["sales.document.audit.log"]._log_access(self, "read")
            else:
                self._audit_count_read("web_read", len(result), self.ids)
        return result

    def web_save(self, vals, specification, next_id=None):
        # Saving a form reads the saved record back: that read belongs to the
        # save, whose change row the trail holds, and is no form open. Saving
        # and moving on to another record (``next_id``) reads that one, an
        # open that ``web_read`` logs as usual.
        if next_id and next_id not in self.ids:
            return super().web_save(vals, specification, next_id=next_id)
        with self._audit_read_call():
            return super().web_save(vals, specification, next_id=next_id)

    @api.model
    @api.readonly
    def web_search_read(self, domain, specification, offset=0, limit=None, order=None, count_limit=None):
        with self._audit_read_call() as outermost:
            result = super().web_search_read(
                domain, specification, offset=offset, limit=limit, order=order, count_limit=count_limit
            )
        if outermost and result.get("records"):
            records = result["records"]
            self._audit_count_read("web_search_read", len(records), [row["id"] for row in records])
        return result

    @api.readonly
    def read(self, fields=None, load="_classic_read"):
        with self._audit_read_call() as outermost:
            result = super().read(fields=fields, load=load)
        if outermost and result:
            self._audit_count_read("read", len(result), self.ids)
        return result

    @api.model
    @api.readonly
    def search_read(self, domain=None, fields=None, offset=0, limit=None, order=None, **read_kwargs):
        with self._audit_read_call() as outermost:
            result = super().search_read(
                domain=domain, fields=fields, offset=offset, limit=limit, order=order, **read_kwargs
            )
        if outermost and result:
            self._audit_count_read("search_read", len(result), [row["id"] for row in result if "id" in row])
        return result

    @api.model
    @api.readonly
    def read_group(self, domain, fields, groupby, offset=0, limit=None, orderby=False, lazy=True):
        with self._audit_read_call() as outermost:
            result = super().read_group(
                domain, fields, groupby, offset=offset, limit=limit, orderby=orderby, lazy=lazy
            )
        if outermost and result:
            self._audit_count_read("read_group", len(result))
        return result

    @api.model
    @api.readonly
    def web_read_group(self, domain, fields, groupby, limit=None, offset=0, orderby=False, lazy=True):
        with self._audit_read_call() as outermost:
            result = super().web_read_group(
                domain, fields, groupby, limit=limit, offset=offset, orderby=orderby, lazy=lazy
            )
        if outermost and result.get("groups"):
            self._audit_count_read("web_read_group", len(result["groups"]))
        return result

    def export_data(self, fields_to_export):
        with self._audit_read_call() as outermost:
            result = super().export_data(fields_to_export)
        if outermost and self:
            self.env["sales.document.audit.log"]._log_access(
                self, "export", {"count": len(self), "fields": list(fields_to_export)}
            )
        return result

    def check_access(self, operation):
        try:
            return super().check_access(operation)
        except AccessError:
            self._audit_log_denied(operation)
            raise

    def fetch(self, field_names):
        # Reading stored fields enforces record rules here, not in check_access.
        try:
            return super().fetch(field_names)
        except AccessError:
            self._audit_log_denied("read")
            raise

    def _audit_log_denied(self, operation):
        """Record a refused attempt on documents (never on their lines)."""
        # Portal and public users go through check_access before their token
        # checks: a refusal there is the normal path, not an attempt.
        if self._audit_parent_field or self.env.su or self.env.user.share:
            return
        failure = self._check_access(operation)
        forbidden = failure[0] if failure else self
        self.env["sales.document.audit.log"]._log_access(forbidden.exists(), "denied", {"operation": operation})

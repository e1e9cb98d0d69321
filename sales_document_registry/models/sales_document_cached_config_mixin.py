from odoo import api, models


class SalesDocumentCachedConfigMixin(models.AbstractModel):
    """Configuration records that hot paths read through ``tools.ormcache``.

    Rules looked up on every write of a sales document (auto-tag rules,
    audited fields) are cached per worker; any change to one of them clears
    the caches, so the next write sees it.
    """

    _name = "sales.document.cached.config.mixin"
    _description = "Sales Document Cached Configuration"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self._config_changed()
        return records

    def write(self, vals):
        result = super().write(vals)
        self._config_changed()
        return result

    def unlink(self):
        result = super().unlink()
        self._config_changed()
        return result

    @api.model
    def _config_changed(self):
        """Drop what the hot paths keep of this configuration (the registry's
        caches, in every worker); a model that keeps more extends it."""
        self.env.registry.clear_cache()

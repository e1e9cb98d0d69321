from odoo import _, http
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

from ..models.sales_service_level import REQUEST_TYPES

RATING_VALUES = (1, 2, 3, 4, 5)


class ServicePortal(CustomerPortal):
    """Customers file service requests from their orders, follow them and rate them."""

    # ------------------------------------------------------------------
    # Home counter and list
    # ------------------------------------------------------------------

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "service_count" in counters:
            Request = request.env["sales.service.request"]
            values["service_count"] = (
                Request.search_count(self._prepare_service_domain()) if Request.has_access("read") else 0
            )
        return values

    def _prepare_service_domain(self):
        return [("partner_id", "=", request.env.user.commercial_partner_id.id)]

    @http.route(["/my/service", "/my/service/page/<int:page>"], type="http", auth="user", website=True)
    def portal_my_service_requests(self, page=1, **kw):
        Request = request.env["sales.service.request"]
        domain = self._prepare_service_domain()
        pager = portal_pager(url="/my/service", total=Request.search_count(domain), page=page, step=self._items_per_page)
        requests_ = Request.search(domain, order="date_request desc, id desc", limit=self._items_per_page,
                                   offset=pager["offset"])
        values = self._prepare_portal_layout_values()
        values.update({
            "service_requests": requests_,
            "page_name": "service",
            "pager": pager,
            "default_url": "/my/service",
        })
        return request.render("sales_document_service.portal_my_service_requests", values)

    # ------------------------------------------------------------------
    # Detail and rating
    # ------------------------------------------------------------------

    @http.route(["/my/service/<int:request_id>"], type="http", auth="public", website=True)
    def portal_my_service_request(self, request_id, access_token=None, **kw):
        try:
            request_sudo = self._document_check_access("sales.service.request", request_id, access_token)
        except (AccessError, MissingError):
            return request.redirect("/my")
        values = self._service_request_page_values(request_sudo, access_token, **kw)
        return request.render("sales_document_service.portal_my_service_request", values)

    def _service_request_page_values(self, request_sudo, access_token, **kw):
        values = self._get_page_view_values(
            request_sudo, access_token, {"page_name": "service", "service_request": request_sudo},
            "my_service_history", False,
        )
        values.update({
            "rating_values": RATING_VALUES,
            "rating_error": kw.get("rating_error"),
            "can_rate": self._can_rate(request_sudo),
        })
        return values

    def _can_rate(self, request_sudo):
        """Whether the current visitor may rate the request: its customer, once it is done."""
        user = request.env.user
        return (
            request_sudo.state == "done"
            and not user._is_public()
            and user.commercial_partner_id == request_sudo.partner_id
        )

    @http.route(["/my/service/<int:request_id>/rate"], type="http", auth="user", methods=["POST"], website=True)
    def portal_rate_service_request(self, request_id, rating=None, comment=None, **kw):
        """Record the customer's rating of a done request (Odoo's rating, through its token)."""
        try:
            request_sudo = self._document_check_access("sales.service.request", request_id)
        except (AccessError, MissingError):
            return request.redirect("/my")
        error = None
        try:
            value = int(rating or 0)
        except ValueError:
            value = 0
        if not self._can_rate(request_sudo):
            error = _("Only the customer can rate a request, once it is done.")
        elif value not in RATING_VALUES:
            error = _("Choose a rating from 1 to 5.")
        if error:
            values = self._service_request_page_values(request_sudo, None, rating_error=error)
            return request.render("sales_document_service.portal_my_service_request", values)
        partner = request.env.user.partner_id
        token = request_sudo._rating_get_access_token(partner)
        request_sudo.rating_apply(value, token=token, feedback=(comment or "").strip() or False)
        return request.redirect(f"/my/service/{request_sudo.id}?rated=1")

    # ------------------------------------------------------------------
    # Filing a request from an order
    # ------------------------------------------------------------------

    def _service_order(self, order_id):
        """The confirmed order ``order_id`` of the current customer, as the user; or an error."""
        order = request.env["sale.order"].browse(order_id)
        try:
            order.check_access("read")
            order_sudo = order.sudo().exists()
        except (AccessError, MissingError):
            order_sudo = None
        customer = request.env.user.commercial_partner_id
        if not order_sudo or order_sudo.partner_id.commercial_partner_id != customer or order_sudo.state != "sale":
            raise UserError(_("This order is not one of your confirmed orders."))
        return order_sudo

    def _service_form_values(self, order_sudo, form=None, error=None):
        values = self._prepare_portal_layout_values()
        values.update({
            "page_name": "service",
            "sale_order": order_sudo,
            "request_types": [(key, label) for key, label in request.env["sales.service.request"]._fields[
                "request_type"]._description_selection(request.env)],
            "deliveries": order_sudo.picking_ids.filtered(
                lambda p: p.picking_type_code == "outgoing" and p.state != "cancel"
            ),
            "products": order_sudo.order_line.product_id,
            "form": form or {},
            "error": error,
        })
        return values

    @http.route(["/my/orders/<int:order_id>/service"], type="http", auth="user", methods=["GET"], website=True)
    def portal_service_request_form(self, order_id, **kw):
        try:
            order_sudo = self._service_order(order_id)
        except UserError:
            return request.redirect("/my/orders")
        return request.render("sales_document_service.portal_service_request_form", self._service_form_values(order_sudo))

    @http.route(["/my/orders/<int:order_id>/service"], type="http", auth="user", methods=["POST"], website=True)
    def portal_service_request_submit(self, order_id, **post):
        """Create the request as the customer, after checking every value they sent."""
        try:
            order_sudo = self._service_order(order_id)
        except UserError:
            return request.redirect("/my/orders")
        try:
            vals = self._prepare_portal_request_vals(order_sudo, post)
            # A refused request leaves nothing behind (the savepoint is rolled back).
            with request.env.cr.savepoint():
                service_request = request.env["sales.service.request"].create(vals)
        except (UserError, ValidationError, AccessError) as exc:
            values = self._service_form_values(order_sudo, form=post, error=str(exc.args[0]))
            return request.render("sales_document_service.portal_service_request_form", values)
        return request.redirect(f"/my/service/{service_request.id}")

    def _prepare_portal_request_vals(self, order_sudo, post):
        """Values of a request filed by the customer, validated against their order."""
        request_type = post.get("request_type")
        if request_type not in dict(REQUEST_TYPES):
            raise UserError(_("Choose the type of your request."))
        description = (post.get("description") or "").strip()
        if not description:
            raise UserError(_("Describe your request."))
        vals = {
            "partner_id": order_sudo.partner_id.commercial_partner_id.id,
            "contact_id": request.env.user.partner_id.id,
            "sale_order_id": order_sudo.id,
            "request_type": request_type,
            "description": description,
        }
        form = self._service_form_values(order_sudo)
        if post.get("picking_id"):
            picking = self._form_record(form["deliveries"], post["picking_id"])
            if not picking:
                raise UserError(_("This delivery is not one of your order's deliveries."))
            vals["picking_id"] = picking.id
        if post.get("product_id"):
            product = self._form_record(form["products"], post["product_id"])
            if not product:
                raise UserError(_("This product is not on your order."))
            vals["product_ids"] = [(6, 0, product.ids)]
        return vals

    @staticmethod
    def _form_record(allowed, raw_id):
        try:
            record_id = int(raw_id)
        except (TypeError, ValueError):
            return allowed.browse()
        return allowed.filtered(lambda record: record.id == record_id)

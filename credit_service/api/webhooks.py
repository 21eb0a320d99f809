"""POST/GET /api/v1/webhooks: settlement systems subscribe to status changes (admin registers them).

Each event is POSTed as JSON with `X-Credit-Event-Id` (de-duplicate by it: delivery is at least once),
`X-Credit-Timestamp` and `X-Credit-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body under the
secret>`. The body: {"event_id", "type": "status.changed", "seq", "changed_at", "subject_key",
"status": <status result without the identity number>}. `subject_key` is a per-webhook pseudonym the
receiver cannot compute; it asks for the keys of the people it knows (POST …/{id}/subject-keys).
A webhook gets only the subjects its scope entitles it to. docs/webhooks.md has it all.
"""
from __future__ import annotations

from flask import current_app, g

from credit_service.schemas.problems import PROBLEM, ProblemSchema
from credit_service.schemas.webhooks import (RedeliverSchema, SubjectKeysRequestSchema, SubjectKeysSchema, WebhookListSchema,
                              WebhookRequestSchema, WebhookSchema)

from ..adapters.egress import AllowList
from ..services import webhooks
from ..services import access
from .auth import require
from .request_body import Blueprint

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks", description="状态变更推送（Webhook）")


@blp.route("", methods=["POST"])
@require(access.WEBHOOK_ADMIN)
@blp.arguments(WebhookRequestSchema)
@blp.response(201, WebhookSchema)
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM,
                  description="validation_failed / webhook_target_not_allowed（私有、回环、链路本地等非公网地址，且未列入 CREDIT_SERVICE_WEBHOOK_ALLOWED_HOSTS）")
def register(data):
    """登记Webhook：此后推送范围内主体的每次信用状态变更都将签名后推送（至少一次，按 event_id 去重）。"""
    c = current_app.extensions["credit_service"]
    return webhooks.register_webhook(c.uow(), c.clock, g.principal.name, data["url"], data["secret"],
                                     data["events"], data["scope"], AllowList.parse(c.settings.webhook_allowed_hosts))


@blp.route("", methods=["GET"])
@require(access.WEBHOOK_ADMIN)
@blp.response(200, WebhookListSchema)
def list_all():
    """已登记的Webhook及其投递情况（不返回密钥）。"""
    c = current_app.extensions["credit_service"]
    return {"webhooks": webhooks.list_webhooks(c.uow())}


@blp.route("/<webhook_id>", methods=["DELETE"])
@require(access.WEBHOOK_ADMIN)
@blp.response(200, WebhookSchema)
@blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM, description="webhook_not_found")
def deactivate(webhook_id: str):
    """停用Webhook：不再推送（已有投递记录保留）。"""
    c = current_app.extensions["credit_service"]
    return webhooks.deactivate_webhook(c.uow(), webhook_id)


@blp.route("/<webhook_id>/redeliver", methods=["POST"])
@require(access.WEBHOOK_ADMIN)
@blp.response(200, RedeliverSchema)
@blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM, description="webhook_not_found")
def redeliver(webhook_id: str):
    """把已进入死信（dead）的投递重新排队（接收方修复后使用）。"""
    c = current_app.extensions["credit_service"]
    return {"requeued": webhooks.redeliver_dead(c.uow(), c.clock, webhook_id)}


@blp.route("/<webhook_id>/subject-keys", methods=["POST"])
@require(access.WEBHOOK_SUBJECT_KEYS)
@blp.arguments(SubjectKeysRequestSchema)
@blp.response(200, SubjectKeysSchema)
@blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM, description="webhook_not_found")
def subject_keys(data, webhook_id: str):
    """此Webhook的事件中各主体的 subject_key（接收方据此把事件对应到其已知的人员；须提供身份证号）。"""
    c = current_app.extensions["credit_service"]
    people = [(s["subject_type"], s["id_number"]) for s in data["subjects"]]
    return {"subject_keys": webhooks.subject_keys(c.uow(), webhook_id, people)}

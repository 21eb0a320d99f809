"""The letters the service issues (信用结果告知书, 异议复核决定书, 信用修复回复书): a plain document model
(model.py), built from the records (build.py), numbered without gaps as it is issued (numbering.py),
and rendered to HTML and PDF (render.py). Both web doors print the same letters."""
from .config import DocumentSettings, Region, load_document_settings
from .model import KINDS, Addressee, CreditResultNotice, Letterhead, MeasureText, ObjectionDecision, RepairReply
from .numbering import DocumentNotConfigured, issue
from .render import render_html, render_pdf

__all__ = ["DocumentSettings", "Region", "load_document_settings", "KINDS", "Addressee", "CreditResultNotice",
           "Letterhead", "MeasureText", "ObjectionDecision", "RepairReply", "DocumentNotConfigured", "issue",
           "render_html", "render_pdf"]

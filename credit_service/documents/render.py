"""Document model → HTML (Jinja, templates/documents/) → PDF (WeasyPrint, CJK fonts from the system:
Debian's fonts-noto-cjk, installed by ./dev and .ci/run)."""
from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .model import KINDS

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "documents"


def cn_date(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["cn_date"] = cn_date
    return env


def render_html(model) -> str:
    """The letter as a self-contained HTML page (its style inline: WeasyPrint reads no CSP)."""
    return _environment().get_template(f"{model.kind}.html").render(doc=model, title=KINDS[model.kind])


def render_pdf(model) -> bytes:
    from weasyprint import HTML  # imported when first needed: it loads Pango, which the token API never needs
    return HTML(string=render_html(model), base_url=str(TEMPLATES)).write_pdf()

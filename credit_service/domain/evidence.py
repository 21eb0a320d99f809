"""Evidence files (证明材料) of an objection (第十条) or a repair application (第十一、十二条): which files
are accepted. The type is read from the content (its first bytes), never from the name or the
Content-Type the sender claims."""
from __future__ import annotations

MAX_FILE_BYTES = 10 * 1024 * 1024  # each file
MAX_FILES_PER_FILING = 20  # all the files of one objection or repair, however many requests brought them

# What a file's content begins with → its type (and the extension it is given when downloaded).
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
ACCEPTED_WORDS = "PDF、JPEG 或 PNG"


def sniff(head: bytes) -> str | None:
    """The content type of a file that begins with `head` (a few bytes are enough), or None if it is
    none of the accepted ones."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def safe_name(name: str | None, content_type: str) -> str:
    """The name shown and given on download: the sender's base name without path or control characters,
    at most 120 characters, with the extension of what the file really is."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?')[:120].strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return (stem or "证明材料") + EXTENSIONS[content_type]

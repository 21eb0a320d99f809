"""Which evidence files are accepted (issue 12; 第十条, 第十一条): the type by content, the limits."""
from __future__ import annotations

import pytest

from credit_service.domain.evidence import MAX_FILE_BYTES, safe_name, sniff
from credit_service.services.errors import Invalid
from credit_service.services.evidence import TooLarge, Upload, check_uploads


@pytest.mark.parametrize("head, expected", [
    (b"%PDF-1.7\n", "application/pdf"), (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00", "image/png"), (b"GIF89a", None), (b"<html>", None), (b"PK\x03\x04", None),
    (b"", None), (b" %PDF-1.7", None), (b"\x89PNG", None)])
def test_the_type_is_read_from_the_first_bytes(head, expected):
    assert sniff(head) == expected


def test_the_name_keeps_no_path_and_gets_the_extension_of_the_content():
    assert safe_name("../../etc/passwd.pdf", "image/png") == "passwd.png"
    assert safe_name("C:\\Users\\张三\\发票.JPG", "image/jpeg") == "发票.jpg"
    assert safe_name(None, "application/pdf") == "证明材料.pdf"
    assert safe_name('a"\r\n<b>.pdf', "application/pdf") == "ab.pdf"


def test_limits_refuse_the_whole_filing():
    ok = Upload("a.pdf", b"%PDF-" + b"0" * (MAX_FILE_BYTES - 5))
    assert [f.content_type for f in check_uploads([ok])] == ["application/pdf"]
    with pytest.raises(TooLarge):
        check_uploads([Upload("a.pdf", b"%PDF-" + b"0" * (MAX_FILE_BYTES - 4))])
    with pytest.raises(Invalid) as refused:
        check_uploads([Upload("x.pdf", b"MZ\x90\x00")])
    assert refused.value.code == "evidence_type_not_allowed"
    with pytest.raises(Invalid) as refused:
        check_uploads([Upload("p.png", b"\x89PNG\r\n\x1a\n")] * 5, already=16)
    assert refused.value.code == "too_many_evidence_files"
    assert len(check_uploads([Upload("p.png", b"\x89PNG\r\n\x1a\n")] * 4, already=16)) == 4


def test_key_rotation_moves_every_column_that_names_a_subject_by_its_key():
    """A table added later (evidence_files, issue 12) must be re-keyed too, or its rows are orphaned."""
    from credit_service.adapters.orm import Base
    from credit_service.adapters.key_store import SUBJECT_COLUMNS
    named = {(table.name, column.name) for table in Base.metadata.sorted_tables for column in table.columns
             if column.name in ("lookup_key", "subject_lookup_key")}
    # not re-keyed: the audit trail (never rewritten); subjects (old row retired, new row under the new key)
    assert named - {("audit_events", "lookup_key"), ("subjects", "lookup_key")} == set(SUBJECT_COLUMNS)

"""The README's and docs/' examples: the sample file imports as the README says; every curl names an
operation the service has."""
from __future__ import annotations

import re

from credit_service.settings import PROJECT_ROOT
from tests.unit.test_docs import DOCS, README, _FENCE


def test_readme_sample_csv_two_rows_recorded_one_rejected(client, auth):
    data = (PROJECT_ROOT / "examples" / "violations.csv").read_bytes()
    response = client.post("/api/v1/violations/import", data=data, content_type="text/csv", headers=auth())
    results = response.json["results"]
    assert [r["status"] for r in results] == ["created", "created", "rejected"]
    assert [m["article"] for m in results[0]["measures"]] == ["第九条第二项"]
    assert {m["article"] for m in results[1]["measures"]} == {"第九条第四项", "第九条第五项"}
    assert results[2]["error"]["code"] == "invalid_id_number"


_CURL = re.compile(r"\bcurl\b(?P<args>[^\n|;]*)")
_URL = re.compile(r"""['"]?(?:\$API|\$\{API\}|http://127\.0\.0\.1:8000/api/v1)(?P<path>/[^\s'"?]*)""")


def curl_examples() -> list[tuple[str, str, str]]:
    """(page, METHOD, path) of every curl in a code block of README.md and docs/."""
    found = []
    for page in [README, *DOCS]:
        for block in _FENCE.findall(page.read_text(encoding="utf-8")):
            block = re.sub(r"\\\n\s*", " ", block)  # continuation lines
            for match in _CURL.finditer(block):
                args = match.group("args")
                url = _URL.search(args)
                if not url:
                    continue
                explicit = re.search(r"-X\s+([A-Z]+)", args)
                method = explicit.group(1) if explicit else ("POST" if re.search(r"\s-d\b|--data", args) else "GET")
                found.append((page.name, method, url.group("path")))
    return found


def test_every_curl_example_names_an_operation_of_the_service(client):
    document = client.get("/api/openapi.json").json
    operations = [(m.upper(), re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", p) + "$"))
                  for p, item in document["paths"].items() for m in item if m != "parameters"]
    examples = curl_examples()
    assert len(examples) >= 20
    unknown = [(page, method, path) for page, method, path in examples
               if not any(m == method and rx.match("/api/v1" + path) for m, rx in operations)]
    assert unknown == []

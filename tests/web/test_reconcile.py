"""The Reconciliation Service API 0.2 at ``/reconcile`` through the Flask test client: every
answer valid against the shared JSON Schemas (``../shared/reference/reconciliation-api-0.2``),
name variants of every kind of resource, property conditions, suggest, preview, data
extension, and hostile input (always a 4xx with a message)."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest

from poli_kg.namespaces import BASE, ONTOLOGY_IRI
from tests.conftest import SHARED

PKG = ONTOLOGY_IRI + "#"
ID = BASE + "id/"
FOAF_HOMEPAGE = "http://xmlns.com/foaf/0.1/homepage"
RECONCILIATION = SHARED / "reference" / "reconciliation-api-0.2"
SCHEMA_OF = {
    "manifest": "manifest.json", "results": "reconciliation-result-batch.json",
    "queries": "reconciliation-query-batch.json", "entities": "suggest-entities-response.json",
    "types": "suggest-types-response.json", "properties": "suggest-properties-response.json",
    "extension": "data-extension-response.json", "extension-query": "data-extension-query.json",
    "proposal": "data-extension-property-proposal.json",
}


def reconciliation_schemas():
    """``check(kind, instance)``: validate against the shared schema of ``kind``.

    Skips when ``../shared`` is absent, except under CI (``CI=true``), where it fails.
    """
    folder = RECONCILIATION / "schemas"
    if not folder.is_dir():
        message = f"the reconciliation schemas are not at {folder}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (required when CI=true)")
        pytest.skip(message)
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    schemas = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}
    registry = Registry().with_resources(
        (schema["$id"].rstrip("#"), Resource.from_contents(schema, default_specification=DRAFT7))
        for schema in schemas.values())

    def check(kind: str, instance) -> None:
        validator = jsonschema.Draft7Validator(schemas[SCHEMA_OF[kind]], registry=registry)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        assert not errors, f"{kind}: " + "; ".join(
            f"{list(e.path)}: {e.message[:200]}" for e in errors[:5])

    return check


@pytest.fixture(scope="session")
def check():
    return reconciliation_schemas()


def test_the_validator_agrees_with_the_shared_examples(check):
    """The schemas as loaded here accept the valid examples and refuse the invalid ones."""
    folders = {"manifest": "manifest", "results": "reconciliation-result-batch",
               "queries": "reconciliation-query-batch", "extension": "data-extension-response"}
    for kind, folder in folders.items():
        for example in sorted((RECONCILIATION / "examples" / folder).glob("*/*.json")):
            instance = json.loads(example.read_text(encoding="utf-8"))
            if example.parent.name == "valid":
                check(kind, instance)
            else:
                with pytest.raises(AssertionError):
                    check(kind, instance)


def post(client, check, field: str, value: dict, lang: str, schemas: tuple[str | None, str]):
    """POST ``field=JSON`` to /reconcile; the answer, both checked against the schemas."""
    asked, answered = schemas
    if asked:
        check(asked, value)
    response = client.post("/reconcile", data={field: json.dumps(value)},
                           headers={"Accept-Language": lang})
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    check(answered, answer)
    return answer


def reconcile(client, check, batch: dict, lang: str = "it") -> dict:
    answer = post(client, check, "queries", batch, lang, ("queries", "results"))
    assert set(answer) == set(batch)
    return answer


def one(client, check, **query) -> list[dict]:
    return reconcile(client, check, {"q0": query})["q0"]["result"]


# --------------------------------------------------------------------------- manifest

def test_manifest(client, check):
    response = client.get("/reconcile")
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    manifest = response.get_json()
    check("manifest", manifest)
    assert manifest["versions"] == ["0.2"]
    assert manifest["identifierSpace"] == ID and manifest["schemaSpace"] == PKG
    assert "{{id}}" in manifest["view"]["url"] and "{{id}}" in manifest["preview"]["url"]
    types = [t["id"] for t in manifest["defaultTypes"]]
    assert types[:2] == [PKG + "PoloDiInnovazione", PKG + "SoggettoGestore"]
    assert PKG + "ClusterTecnologicoNazionale" in types and PKG + "Bando" in types
    for kind in ("entity", "type", "property"):
        path = manifest["suggest"][kind]["service_path"]
        assert client.get(path + "?prefix=po").status_code == 200
    assert client.post("/reconcile").get_json() == manifest
    assert client.get("/reconcile?lang=en").get_json()["name"].endswith("Innovation Clusters of Piedmont")


# --------------------------------------------------------------------------- reconciliation

# (query, type or None, expected first candidate, whether it is a match)
CASES = [
    ("Torino Wireless", None, "organizzazione/torino-wireless", True),
    ("Fondazione Torino Wireless", "pkg:Fondazione", "organizzazione/torino-wireless", True),
    ("torino wirless", None, "organizzazione/torino-wireless", False),
    ("MIAC", "pkg:SoggettoGestore", "organizzazione/miac", True),
    ("M.I.A.C. S.c.p.a.", None, "organizzazione/miac", True),
    ("Città Studi", None, "organizzazione/citta-studi", True),
    ("citta studi spa", None, "organizzazione/citta-studi", True),
    ("Bioindustry Park Silvano Fumero", None, "organizzazione/bioindustry-park", True),
    ("Environment Park", "org:Organization", "organizzazione/environment-park", True),
    ("envirnment park", "org:Organization", "organizzazione/environment-park", True),
    ("Regione Piemonte", None, "organizzazione/regione-piemonte", True),
    ("Piedmont Region", None, "organizzazione/regione-piemonte", True),
    ("agrifood", "pkg:PoloDiInnovazione", "polo/agrifood", True),
    ("MESAP", None, "polo/mesap", True),
    ("C-Green", None, "polo/cgreen", True),
    ("Agrifood", "pkg:ClusterTecnologicoNazionale", "cluster-nazionale/agrifood", True),
    ("Intelligent Factory", None, "cluster-nazionale/fabbrica-intelligente", True),
    ("fabrica inteligente", "pkg:ClusterTecnologicoNazionale",
     "cluster-nazionale/fabbrica-intelligente", False),
    ("Agroalimentare", "pkg:AreaTematica", "scheme/aree-tematiche/agroalimentare", True),
    ("Textiles", None, "scheme/aree-tematiche/tessile", True),
    ("Turin", "dct:Location", "luogo/torino", True),
    ("Regno Unito", None, "luogo/regno-unito", True),
    ("Linea A", "pkg:Bando", "bando/linea-a", True),
    ("ERDF ROP 2014-2020", None, "programma/por-fesr-2014-2020", True),
]


@pytest.mark.parametrize("query, type_, expected, match", CASES, ids=[c[0] for c in CASES])
def test_name_variants(client, check, query, type_, expected, match):
    q = {"query": query, "limit": 5}
    if type_:
        q["type"] = type_
    result = one(client, check, **q)
    assert result[0]["id"] == ID + expected, [(r["id"], r["score"]) for r in result]
    assert result[0]["match"] is match, [(r["id"], r["score"]) for r in result]
    assert all(0 <= r["score"] <= 100 for r in result)
    assert not any(r["match"] for r in result[1:])


def test_an_ambiguous_name_is_no_match(client, check):
    result = one(client, check, query="Agrifood")
    assert len(result) >= 3 and [r["score"] for r in result[:3]] == [100, 100, 100]
    assert not any(r["match"] for r in result)
    assert result[0]["id"] == ID + "polo/agrifood"


def test_candidates_carry_names_types_and_descriptions(client, check):
    result = one(client, check, query="POR FESR 2007-2013")
    first = result[0]
    assert first["name"] == "POR FESR 2007-2013"
    assert first["type"] == [{"id": PKG + "ProgrammaOperativo", "name": "Programma operativo regionale"}]
    assert first["description"].startswith("Programma operativo regionale del Piemonte")
    english = reconcile(client, check, {"q": {"query": "POR FESR 2007-2013"}}, lang="en")
    assert english["q"]["result"][0]["name"] == "ERDF ROP 2007-2013"


def test_a_batch_in_every_form_gives_the_same_answer(client, check):
    batch = {"q0": {"query": "MIAC"}, "q1": {"query": "Pointex", "limit": 1}}
    expected = reconcile(client, check, batch)
    assert len(expected["q1"]["result"]) == 1
    by_get = client.get("/reconcile", query_string={"queries": json.dumps(batch)})
    by_json = client.post("/reconcile", json=batch)
    wrapped = client.post("/reconcile", json={"queries": batch})
    wrapped_text = client.post("/reconcile", json={"queries": json.dumps(batch)})
    for response in (by_get, by_json, wrapped, wrapped_text):
        assert response.status_code == 200 and response.get_json() == expected


def test_type_strictness(client, check):
    should = one(client, check, query="agrifood", type="pkg:PoloDiInnovazione", type_strict="should")
    assert should[0]["id"] == ID + "polo/agrifood" and len(should) > 1
    assert should[1]["score"] <= 90
    both = one(client, check, query="Consorzio Ibis", type=["pkg:Consorzio", "pkg:Societa"],
               type_strict="all")
    assert both == []
    any_of = one(client, check, query="Consorzio Ibis", type=["pkg:Consorzio", "pkg:Societa"])
    assert any_of[0]["id"] == ID + "organizzazione/ibis"
    assert one(client, check, query="MESAP", type="https://example.org/Unknown") == []


def test_property_conditions(client, check):
    by_body = one(client, check, query="Agrifood", type="pkg:PoloDiInnovazione",
                  properties=[{"pid": "pkg:haSoggettoGestore", "v": "MIAC"}])
    assert by_body[0]["id"] == ID + "polo/agrifood" and by_body[0]["match"] is True
    wrong = one(client, check, query="Agrifood", type="pkg:PoloDiInnovazione",
                properties=[{"pid": "pkg:haSoggettoGestore", "v": "Torino Wireless"}])
    assert wrong[0]["match"] is False and wrong[0]["score"] < by_body[0]["score"]
    by_id = one(client, check, query="agrifood", properties=[
        {"pid": PKG + "haSoggettoGestore", "v": {"id": ID + "organizzazione/miac", "name": "x"}}])
    assert by_id[0]["id"] == ID + "polo/agrifood" and by_id[0]["match"] is True
    by_city = one(client, check, query="Regione", properties=[{"pid": "schema:location", "v": "Turin"}])
    assert by_city[0]["id"] == ID + "organizzazione/regione-piemonte"
    assert by_city[0]["features"][1] == {"id": "properties", "value": 1}


@pytest.mark.parametrize("website", ["www.mesap.it", "http://www.mesap.it/", "https://mesap.it",
                                     "MESAP.IT"])
def test_a_resource_by_its_website_alone(client, check, website):
    result = one(client, check, properties=[{"pid": "foaf:homepage", "v": website}])
    assert result[0]["id"] == ID + "polo/mesap" and result[0]["match"] is True
    assert result[0]["score"] == 100


def test_several_values_and_unknown_properties(client, check):
    many = one(client, check, query="Pointex", properties=[
        {"pid": FOAF_HOMEPAGE, "v": ["http://nowhere.example/", "pointex.eu"]}])
    assert many[0]["id"] == ID + "polo/pointex" and many[0]["match"] is True
    unknown = one(client, check, query="Pointex", properties=[{"pid": "pkg:nothing", "v": "x"}])
    assert unknown[0]["id"] == ID + "polo/pointex" and unknown[0]["match"] is False
    invalid = one(client, check, query="Pointex", properties=[{"pid": "not an iri", "v": 1}])
    assert invalid[0]["match"] is False


# --------------------------------------------------------------------------- suggest

def test_suggest_entities(client, check):
    body = client.get("/reconcile/suggest/entity?prefix=bioind").get_json()
    check("entities", body)
    assert body["result"][0]["id"] == ID + "organizzazione/bioindustry-park"
    assert body["result"][0]["notable"][0]["id"] == PKG + "Societa"
    typed = client.get("/reconcile/suggest/entity?prefix=agri&type=pkg:ClusterTecnologicoNazionale")
    assert [r["id"] for r in typed.get_json()["result"]] == [ID + "cluster-nazionale/agrifood"]
    first = client.get("/reconcile/suggest/entity?prefix=poli").get_json()["result"]
    second = client.get("/reconcile/suggest/entity?prefix=poli&cursor=10").get_json()["result"]
    assert len(first) == 10 and not {r["id"] for r in first} & {r["id"] for r in second}


def test_suggest_types_and_properties(client, check):
    types = client.get("/reconcile/suggest/type?prefix=polo").get_json()
    check("types", types)
    assert types["result"][0]["id"] == PKG + "PoloDiInnovazione"
    english = client.get("/reconcile/suggest/type?prefix=national&lang=en").get_json()
    assert english["result"][0] == {"id": PKG + "ClusterTecnologicoNazionale",
                                    "name": "National technology cluster",
                                    "description": "pkg:ClusterTecnologicoNazionale"}
    properties = client.get("/reconcile/suggest/property?prefix=gest").get_json()
    check("properties", properties)
    assert {PKG + "gestisce", PKG + "haSoggettoGestore"} <= {p["id"] for p in properties["result"]}
    website = client.get("/reconcile/suggest/property?prefix=web&lang=en").get_json()["result"]
    assert website[0] == {"id": FOAF_HOMEPAGE, "name": "website", "description": "foaf:homepage"}
    of_bodies = client.get("/reconcile/suggest/property?prefix=ha&type=pkg:SoggettoGestore")
    assert PKG + "haSoggettoGestore" not in {p["id"] for p in of_bodies.get_json()["result"]}


# --------------------------------------------------------------------------- preview, view

def test_preview(client):
    response = client.get(f"/reconcile/preview?id={ID}polo/mesap&lang=en")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "MESAP" in page and "Innovation cluster" in page and "mesap.it" in page
    assert 'class="pk-card"' in page and 'href="/id/polo/mesap?lang=en"' in page
    assert client.get("/reconcile/preview?id=https://example.org/x").status_code == 404
    assert client.get("/reconcile/preview").status_code == 400


def test_only_the_preview_may_be_framed(client):
    """OpenRefine shows the preview card in an iframe; every other page refuses framing."""
    preview = client.get(f"/reconcile/preview?id={ID}polo/mesap")
    assert "X-Frame-Options" not in preview.headers
    assert "frame-ancestors *" in preview.headers["Content-Security-Policy"]
    page = client.get("/search?q=mesap", headers={"Accept": "text/html"})
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_view_redirects_to_the_page_of_the_resource_only(client):
    response = client.get(f"/reconcile/view?id={ID}polo/mesap")
    assert response.status_code == 303 and response.headers["Location"] == "/id/polo/mesap"
    for target in ("https://evil.example/", "//evil.example", "javascript:alert(1)"):
        assert client.get("/reconcile/view", query_string={"id": target}).status_code == 404


# --------------------------------------------------------------------------- data extension

def extend(client, check, query: dict, lang: str = "it", valid_query: bool = True) -> dict:
    return post(client, check, "extend", query, lang,
                ("extension-query" if valid_query else None, "extension"))


def test_data_extension(client, check):
    answer = extend(client, check, {
        "ids": [ID + "polo/mesap", ID + "organizzazione/miac", ID + "organizzazione/ats-cgreen",
                ID + "nothing"],
        "properties": [{"id": "foaf:homepage"}, {"id": "pkg:haSoggettoGestore"},
                       {"id": "pkg:gestisce"}, {"id": "pkg:partecipaACluster"},
                       {"id": "pkg:haComponente", "settings": {"limit": "2"}},
                       {"id": "cov:legalName"}, {"id": "pkg:areaTematica"}]}, lang="en")
    meta = {m["id"]: m for m in answer["meta"]}
    assert meta[FOAF_HOMEPAGE]["name"] == "website"
    assert meta[PKG + "haSoggettoGestore"]["name"] == "has managing body"
    assert meta[PKG + "gestisce"]["type"]["id"] == PKG + "PoloDiInnovazione"
    rows = answer["rows"]
    mesap = rows[ID + "polo/mesap"]
    assert mesap[FOAF_HOMEPAGE] == [{"str": "http://www.mesap.it/"}]
    assert mesap[PKG + "haSoggettoGestore"] == [
        {"id": ID + "organizzazione/centro-servizi-industrie", "name": "Centro Servizi Industrie S.r.l."}]
    assert {v["id"] for v in mesap[PKG + "partecipaACluster"]} == {
        ID + "cluster-nazionale/fabbrica-intelligente", ID + "cluster-nazionale/mobilita-di-superficie"}
    assert rows[ID + "organizzazione/miac"][PKG + "gestisce"] == [
        {"id": ID + "polo/agrifood", "name": "AGRIFOOD cluster – Agri-food"}]
    assert rows[ID + "organizzazione/miac"]["https://w3id.org/italia/onto/COV/legalName"] == [
        {"str": "M.I.A.C. Scpa"}]
    assert len(rows[ID + "organizzazione/ats-cgreen"][PKG + "haComponente"]) == 2
    assert all(values == [] for values in rows[ID + "nothing"].values())


def test_typed_literals(client, check):
    answer = extend(client, check, {"ids": [ID + "periodo/2014-2020", ID + "osservazione/aderenti-pmi-2017-06"],
                                    "properties": [{"id": "schema:startDate"},
                                                   {"id": "sdmx-measure:obsValue"}]})
    period = answer["rows"][ID + "periodo/2014-2020"]
    assert period["http://schema.org/startDate"] == [{"date": "2014-01-01T00:00:00Z"}]
    figure = answer["rows"][ID + "osservazione/aderenti-pmi-2017-06"]
    assert figure["http://purl.org/linked-data/sdmx/2009/measure#obsValue"] == [{"int": 858}]


def test_property_proposals(client, check):
    body = client.get("/reconcile/propose_properties?type=pkg:PoloDiInnovazione&limit=6").get_json()
    check("proposal", body)
    ids = [p["id"] for p in body["properties"]]
    assert body["type"] == PKG + "PoloDiInnovazione" and body["limit"] == 6 and len(ids) == 6
    assert PKG + "haSoggettoGestore" in ids and PKG + "areaTematica" in ids
    bodies = client.get("/reconcile/propose_properties?type=pkg:SoggettoGestore").get_json()
    assert PKG + "gestisce" in [p["id"] for p in bodies["properties"]]
    check("proposal", client.get("/reconcile/propose_properties").get_json())


# --------------------------------------------------------------------------- hostile input

def assert_message(response, *statuses: int, says: str = "") -> None:
    text = response.get_data(as_text=True)
    assert response.status_code in statuses, (response.status_code, text[:300])
    assert re.match(rf"{response.status_code} [A-Za-z ]+: \S", text), text[:300]
    assert says in text, text[:300]


@pytest.mark.parametrize("queries, says", [
    ("{", "not valid JSON"), ("[]", "JSON object"), ('"MIAC"', "JSON object"), ("42", "JSON object"),
    ("null", "JSON object"), ("[" * 100_000 + "]" * 100_000, ""), ('{"q": 1}', "object"),
    ('{"q": {"query": 5}}', "query must be a string"),
    ('{"q": {"query": "x", "type": 5}}', "type"), ('{"q": {"query": "x", "type": [1]}}', "type"),
    ('{"q": {"query": "x", "type": ["t"' + ',"t"' * 20 + "]}}", "at most"),
    ('{"q": {"query": "x", "limit": "10"}}', "limit"), ('{"q": {"query": "x", "limit": NaN}}', "limit"),
    ('{"q": {"query": "x", "limit": Infinity}}', "limit"), ('{"q": {"query": "x", "limit": true}}', "limit"),
    ('{"q": {"query": "x", "type_strict": "maybe"}}', "type_strict"),
    ('{"q": {"query": "x", "properties": {}}}', "properties"),
    ('{"q": {"query": "x", "properties": [{"pid": 1, "v": 1}]}}', "pid"),
    ('{"q": {"query": "x", "properties": [{"pid": "p"}]}}', "pid"),
    ('{"q": {"query": "x", "properties": [{"pid": "p", "v": [[1]]}]}}', "values"),
    ('{"q": {"query": "x", "properties": [{"pid": "p", "v": {"name": "no id"}}]}}', "values"),
])
def test_malformed_batches_answer_400(client, queries, says):
    # a form field larger than the form parser keeps is refused before it is read (413)
    statuses = (400, 413) if len(queries) > 100_000 else (400,)
    assert_message(client.post("/reconcile", data={"queries": queries}), *statuses, says=says)


def test_a_huge_batch_answers_413(client):
    batch = {f"q{i}": {"query": "MIAC"} for i in range(101)}
    assert_message(client.post("/reconcile", json=batch), 413, says="at most 100 queries")
    assert client.post("/reconcile", json=dict(list(batch.items())[:100])).status_code == 200


def test_too_many_distinct_properties_in_a_batch(client):
    batch = {f"q{i}": {"query": "x", "properties": [{"pid": f"pkg:p{i}", "v": "x"}]} for i in range(11)}
    assert_message(client.post("/reconcile", json=batch), 400, says="distinct properties")


def test_a_body_too_large_for_the_server(client):
    big = json.dumps({"q": {"query": "x" * (8 << 20)}})
    assert_message(client.post("/reconcile", data=big, content_type="application/json"), 413)


@pytest.mark.parametrize("body", [b"\xff\xfe{", b'{"q": {"query": "\xff"}}', b"", b"   ",
                                  b'{"queries": 5}', b'{"extend": "x"}'])
def test_odd_json_bodies(client, body):
    response = client.post("/reconcile", data=body, content_type="application/json")
    assert response.status_code in (200, 400), response.get_data()[:200]
    if response.status_code == 400:
        assert_message(response, 400)


def test_odd_text_is_just_text(client, check):
    batch = {"a": {"query": "\ud800MIAC\udfff"}, "b": {"query": '"mesap" OR (x*) AND ~^:'},
             "c": {"query": "x" * 5000}, "d": {"query": ""}, "\ud83d": {"query": "🙂"},
             "e": {"query": "   "}, "f": {"query": "\x00\u202e"}, "g": {"query": "MIAC", "limit": 1e308},
             "h": {"query": "MIAC", "limit": -3}, "i": {"query": "MIAC", "type": ["\udc00"]}}
    response = client.post("/reconcile", data=json.dumps(batch), content_type="application/json")
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["a"]["result"][0]["id"] == ID + "organizzazione/miac"
    assert answer["d"]["result"] == [] and answer["e"]["result"] == []
    assert len(answer["g"]["result"]) >= 1 and len(answer["h"]["result"]) == 1


@pytest.mark.parametrize("extend_, status, says", [
    ("{", 400, "JSON"), ("[]", 400, "ids"), ('{"ids": "x", "properties": []}', 400, "ids"),
    ('{"ids": [1], "properties": []}', 400, "strings"),
    ('{"ids": [], "properties": [{"id": 5}]}', 400, "properties"),
    (json.dumps({"ids": [f"x{i}" for i in range(501)], "properties": []}), 413, "at most 500"),
    (json.dumps({"ids": [], "properties": [{"id": "p"}] * 21}), 413, "20 properties"),
])
def test_malformed_extension_queries(client, extend_, status, says):
    assert_message(client.post("/reconcile", data={"extend": extend_}), status, says=says)


def test_odd_extension_settings(client, check):
    answer = extend(client, check, {"ids": [ID + "organizzazione/ats-cgreen", "\ud800"],
                                    "properties": [{"id": "pkg:haComponente", "settings": {"limit": "x"}},
                                                   {"id": "not an iri"}, {"id": "pkg:haComponente ",
                                                                           "settings": []}]},
                    valid_query=False)
    rows = answer["rows"][ID + "organizzazione/ats-cgreen"]
    assert len(rows[PKG + "haComponente"]) == 3 and rows["not an iri"] == []


@pytest.mark.parametrize("path", [
    "/reconcile/suggest/entity", "/reconcile/suggest/entity?prefix=", "/reconcile/suggest/type?prefix=%20",
    "/reconcile/suggest/property", "/reconcile/suggest/entity?prefix=" + "a" * 201,
    "/reconcile/suggest/entity?prefix=x&cursor=-1", "/reconcile/suggest/entity?prefix=x&cursor=%FF",
    "/reconcile/suggest/entity?prefix=x&limit=1000", "/reconcile/propose_properties?limit=x",
    "/reconcile/preview", "/reconcile/view?id=",
])
def test_bad_suggest_preview_and_view_parameters(client, path):
    assert_message(client.get(path), 400)


@pytest.mark.parametrize("path", [
    "/reconcile/suggest/entity?prefix=%22mesap%22%20OR%20(x*)", "/reconcile/suggest/type?prefix=%FF%FE",
    "/reconcile/suggest/property?prefix=%00", "/reconcile/suggest/entity?prefix=%F0%9F%99%82&type=%FF",
    "/reconcile/propose_properties?type=%ED%A0%80", "/reconcile/preview?id=%ED%A0%80",
    "/reconcile?queries=%FF", "/reconcile?extend=%00",
])
def test_odd_encodings_never_fail(client, path):
    response = client.get(path)
    assert response.status_code < 500, response.get_data()[:200]


# --------------------------------------------------------------------------- CORS, backends

def test_cross_origin_requests(client):
    preflight = client.options("/reconcile", headers={
        "Origin": "http://127.0.0.1:3333", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    for path in ("/reconcile", "/reconcile/suggest/entity?prefix=mesap", "/search?q=mesap&format=json"):
        assert client.get(path).headers["Access-Control-Allow-Origin"] == "*"


def test_reconciliation_by_name_does_not_need_the_store(sparql_build_dir, tcp_listener, client, check):
    from poli_kg.web import create_app

    application = create_app({"TESTING": True, "BUILD_DIR": str(sparql_build_dir),
                              "STORE": "sparql:" + tcp_listener.url, "QUERY_TIMEOUT": 2})
    try:
        remote = application.test_client()
        batch = {"q0": {"query": "MIAC"}, "q1": {"query": "Intelligent Factory"}}
        assert remote.post("/reconcile", json=batch).get_json() == reconcile(client, check, batch)
        with_property = {"q0": {"query": "MIAC", "properties": [{"pid": "pkg:gestisce", "v": "x"}]}}
        response = remote.post("/reconcile", json=with_property)
        assert response.status_code == 503 and "Retry-After" in response.headers
    finally:
        application.extensions["poli_kg.store"].close()


def test_every_answer_is_finite_json(client):
    answer = client.post("/reconcile", json={"q": {"query": "poli"}}).get_data(as_text=True)
    assert "NaN" not in answer and "Infinity" not in answer
    assert all(math.isfinite(r["score"]) for r in json.loads(answer)["q"]["result"])


def test_schemas_folder_is_where_the_tests_look():
    assert RECONCILIATION == Path(SHARED) / "reference" / "reconciliation-api-0.2"

"""Every competency question in queries/ returns the answer the source gives, from the built store."""

from decimal import Decimal

import pyoxigraph as ox
import pytest

from tests.conftest import ROOT

QUERIES = sorted((ROOT / "queries").glob("*.rq"))


@pytest.fixture(scope="module")
def store(build_dir):
    return ox.Store.read_only(str(build_dir / "store"))


def answer(store, name: str) -> list[dict]:
    """Rows of the query file ``name`` as dicts of plain Python values."""
    results = store.query((ROOT / "queries" / name).read_text(encoding="utf-8"),
                          use_default_graph_as_union=True)
    rows = []
    for solution in results:
        row = {}
        for var in results.variables:
            term = solution[var]
            if term is None:
                row[var.value] = None
            elif isinstance(term, ox.Literal) and term.datatype.value.endswith(("#integer", "#decimal")):
                row[var.value] = Decimal(term.value)
            else:
                row[var.value] = term.value
        rows.append(row)
    return rows


def column(rows, name):
    return [row[name] for row in rows]


def test_at_least_fifteen_questions_each_asked_in_italian_and_english():
    assert len(QUERIES) >= 15
    for path in QUERIES:
        head = path.read_text(encoding="utf-8").splitlines()[:2]
        assert head[0].startswith("# title-it: ") and head[1].startswith("# title-en: "), path.name


def test_every_question_has_an_answer(store):
    for path in QUERIES:
        assert answer(store, path.name), f"{path.name} returned no rows"


def test_pole_per_thematic_area_and_manager(store):
    rows = {r["poloLabel"]: (r["areaLabel"], r["gestoreLabel"], r["sito"]) for r in answer(store, "01-polo-per-area-tematica.rq")}
    assert rows == {
        "Polo AGRIFOOD – Agroalimentare": ("Agroalimentare", "M.I.A.C. S.c.p.a.", "http://www.poloagrifood.it/"),
        "Biopmed – Scienze della vita e salute": ("Scienze della vita e salute", "Bioindustry Park Silvano Fumero S.p.A.", "http://www.biopmed.eu/"),
        "CGreen – Chimica verde e nuovi materiali": ("Chimica verde e nuovi materiali", "ATS tra Consorzio Proplast, Consorzio Ibis e Pst S.p.A.", "http://www.cgreen.it/"),
        "CLEVER – Energia e tecnologie pulite": ("Energia e tecnologie pulite", "ATS tra Environment Park S.p.A. e Consorzio UN.I.VER", "http://www.poloclever.it/"),
        "MESAP – Smart Products and Manufacturing": ("Smart Products and Manufacturing", "Centro Servizi Industrie S.r.l.", "http://www.mesap.it/"),
        "Pointex – Tessile": ("Tessile", "Città Studi S.p.A.", "http://www.pointex.eu/"),
        "Polo ICT – Tecnologie dell’informazione e della comunicazione": ("Tecnologie dell’informazione e della comunicazione", "Fondazione Torino Wireless", "http://www.poloinnovazioneict.org/"),
    }


def test_organisations_forming_each_ats(store):
    rows = answer(store, "02-componenti-ats.rq")
    members = {}
    for r in rows:
        members.setdefault(r["polo"].rsplit("/", 1)[1], set()).add(r["componenteLabel"])
    assert members == {
        "cgreen": {"Consorzio Proplast", "Consorzio Ibis", "Pst S.p.A."},
        "clever": {"Environment Park S.p.A.", "Consorzio UN.I.VER"},
    }


def test_national_clusters_and_roles(store):
    rows = {(r["polo"].rsplit("/", 1)[1], r["cluster"].rsplit("/", 1)[1], r["ruolo"]) for r in answer(store, "03-cluster-tecnologici-nazionali.rq")}
    assert rows == {
        ("agrifood", "agrifood", "partecipante"),
        ("cgreen", "chimica-verde", "partecipante"),
        ("mesap", "fabbrica-intelligente", "partecipante"),
        ("biopmed", "scienze-della-vita", "partecipante"),
        ("ict", "smart-communities", "coordinatore"),
        ("mesap", "mobilita-di-superficie", "partecipante"),
    }


def test_members_by_type(store):
    rows = {r["tipologia"]: r["aderenti"] for r in answer(store, "04-aderenti-per-tipologia.rq")}
    assert rows == {"Totale": 1194, "PMI": 858, "Grandi imprese": 133, "Organismi di ricerca": 60,
                    "Altre tipologie di soggetti": 43}
    assert set(column(answer(store, "04-aderenti-per-tipologia.rq"), "periodo")) == {"giugno 2017"}


def test_calls_2014_2020(store):
    rows = {r["bando"].rsplit("/", 1)[1]: (r["dotazione"], r["presentati"], r["finanziati"], r["imprese"], r["investimento"], r["contributi"])
            for r in answer(store, "05-bandi-2014-2020.rq")}
    assert rows == {
        "linea-a": (35_000_000, 113, 75, 221, 49_800_000, 23_700_000),
        "linea-b": (15_000_000, 53, 34, 70, 21_200_000, 9_300_000),
    }


def test_patents_by_domain(store):
    rows = {r["ambito"]: r["brevetti"] for r in answer(store, "06-brevetti-per-ambito.rq")}
    assert rows == {"Agrifood": 5, "Energy and clean technologies": 36, "Biotechnologies": 12}


def test_partner_countries(store):
    rows = {r["nome"]: (r["wikidata"].rsplit("/", 1)[1], r["euAuthority"].rsplit("/", 1)[1]) for r in answer(store, "07-paesi-partner.rq")}
    assert rows == {
        "France": ("Q142", "FRA"), "Spain": ("Q29", "ESP"), "Portugal": ("Q45", "PRT"),
        "United Kingdom": ("Q145", "GBR"), "Poland": ("Q36", "POL"), "Romania": ("Q218", "ROU"),
        "Germany": ("Q183", "DEU"), "Belgium": ("Q31", "BEL"),
    }


def test_the_source_sentence_of_a_figure(store):
    [row] = answer(store, "08-fonte-di-un-dato.rq")
    assert row["valore"] == 75 and row["espressione"] == "75 finanziati"
    assert "113 progetti presentati e 75 finanziati (221 imprese coinvolte)" in row["frase"]
    assert (row["rigaIniziale"], row["rigaFinale"]) == (144, 148)
    assert row["titolo"] == "Il sistema regionale dei POLI di INNOVAZIONE"


def test_legal_forms_of_managing_bodies(store):
    rows = {r["gestoreLabel"]: (r["tipo"], r["codiceIstat"]) for r in answer(store, "09-forma-giuridica-gestori.rq")}
    assert rows["M.I.A.C. S.c.p.a."] == ("Società", "1.5.20")
    assert rows["Centro Servizi Industrie S.r.l."] == ("Società", "1.3.20")
    assert rows["Fondazione Torino Wireless"] == ("Fondazione", "1.7.20")
    assert rows["Città Studi S.p.A."] == ("Società", "1.3.10")
    assert rows["ATS tra Environment Park S.p.A. e Consorzio UN.I.VER"][1] == "1.5.30"
    assert len(rows) == 7


def test_history(store):
    rows = [(r["anno"], r["programma"], r["numeroPoli"]) for r in answer(store, "10-storia.rq")]
    assert rows == [("2009", "POR FESR 2007-2013", 12), ("2015", "POR FESR 2014-2020", 7)]


def test_investment_2007_2013(store):
    rows = {r["indicatore"]: (r["valore"], r["qualificatore"]) for r in answer(store, "11-investimenti-2007-2013.rq")}
    assert rows == {
        "Investimenti cumulati in R&S degli associati": (487_000_000, "esatto"),
        "Investimenti in R&S attivati": (240_000_000, "esatto"),
        "Contributi concessi": (126_000_000, "esatto"),
        "Progetti di ricerca e innovazione e studi di fattibilità attivati": (600, "oltre"),
        "Programmi annuali": (3, "esatto"),
    }


def test_participation_in_strategic_agendas(store):
    rows = {r["programma"]: (r["percentuale"], r["periodo"]) for r in answer(store, "12-partecipazione-agende-strategiche.rq")}
    assert rows == {"POR FESR 2014-2020": (30, "giugno 2017"), "POR FESR 2007-2013": (49, "2007-2013")}
    assert all("non sono, per ora, comparabili" in r["avvertenza"] for r in answer(store, "12-partecipazione-agende-strategiche.rq"))


def test_agreements_and_collaborations(store):
    rows = {r["indicatore"]: (r["valore"], r["qualificatore"]) for r in answer(store, "13-accordi-e-collaborazioni.rq")}
    assert rows == {
        "Accordi con agenzie formative": (47, "esatto"),
        "Collaborazioni con organismi di ricerca": (195, "esatto"),
        "Collaborazioni extraregione ed internazionali": (200, "oltre"),
    }


def test_success_rate_of_calls(store):
    rows = {r["bando"]: (r["tassoSuccessoPercento"], r["quotaContributiPercento"]) for r in answer(store, "14-tasso-di-successo-bandi.rq")}
    assert rows == {"Line A call": (Decimal("66.4"), Decimal("47.6")), "Line B call": (Decimal("64.2"), Decimal("43.9"))}


def test_members_sum_against_total(store):
    [row] = answer(store, "15-somma-aderenti.rq")
    assert (row["totalePubblicato"], row["sommaTipologie"], row["differenza"]) == (1194, 1094, 100)


def test_every_figure_with_unit_period_and_source(store):
    rows = answer(store, "16-dati-con-fonte.rq")
    assert len(rows) == 33
    assert all(r["fonte"] for r in rows)
    assert {r["unita"] for r in rows} == {"euro", "numero", "per cento"}


def test_mission_and_origin(store):
    [row] = answer(store, "17-missione-e-definizione.rq")
    assert row["missione"].startswith("To promote innovation")
    assert row["istituitoDa"] == "Regione Piemonte" and row["primoInItalia"] == "true"
    assert set(row["modelli"].split(", ")) == {"Cluster innovativi", "Distretti tecnologici", "Innovation Hub"}

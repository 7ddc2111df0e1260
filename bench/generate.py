"""Synthetic scale data for poli-kg: a realistic, deterministic extension of the real graph.

    python bench/generate.py --triples 100000 --out bench/out/gen-100k.nt [--seed 0]

The output (N-Triples for ``.nt``, Turtle for ``.ttl``) is *extra data* for a build of the
project (``build(out, sources=Sources(ROOT, extra_data=[file]))``): it refers to the real
graph's clusters, calls, programme, periods, legal forms, thematic areas, indicators and data
structure, and uses only terms the ontology already has or standard vocabularies.  Together
with the real graph it conforms to the project's shapes (``tests/graph/test_generate.py``).

What it contains, all with Italian and English labels and ``prov:wasDerivedFrom`` one
synthetic source excerpt (``…/id/fonte/dati-sintetici/estratto/generatore``), so nobody can
mistake it for facts of the 2017 report:

* **organisations** ``…/id/organizzazione/gen-NNNNNN``: companies (``pkg:Societa``:
  S.r.l. 1.3.20, S.p.A. 1.3.10, società consortile 1.5.20), consortia (``pkg:Consorzio``,
  1.5.10) and foundations (``pkg:Fondazione``, 1.7.20) with the ISTAT legal status
  (``cov:hasLegalStatus``), a VAT number with a valid check digit (``schema:vatID``), a
  Piedmont municipality (``schema:location``), and, with ``org:classification``, a size class
  (micro/small/medium/large enterprise, EU recommendation 2003/361/EC), an ATECO 2007 sector
  and, for members, the report's member type (SME, large enterprise, research body, other);
* **memberships**: about seven in ten organisations are members of one cluster (some of two),
  ``org:memberOf`` the cluster (W3C ORG's direct membership property: an ``org:Membership``
  would trigger the ontology's ``pkg:partecipaACluster`` property chain, which is meant for the
  national technology clusters only);
* **funded projects** ``…/id/progetto/gen-NNNNNN`` (``schema:ResearchProject``) of the calls
  Linea A (partners: members of the cluster) and Linea B (partners: organisations never members
  of a cluster), ``schema:funding`` the call, ``pkg:nelProgramma`` POR FESR 2014-2020,
  ``pkg:periodo``, ``org:linkedTo`` the cluster, ``dct:subject`` its thematic area,
  ``schema:member`` 2–6 partners, start and end dates, and their total investment and grant
  (grant ≤ investment) as RDF Data Cube observations like the report's figures;
* **patents** ``…/id/brevetto/gen-NNNNNN`` (``schema:CreativeWork`` of type patent,
  Wikidata Q253623) with an Italian application number, filing date, holders
  (``dct:creator``), the project that generated them (``prov:wasGeneratedBy``) and the
  thematic area (``dct:subject``);
* the vocabularies these need: the size classes and ATECO sectors as SKOS concept schemes
  (``…/id/scheme/classi-dimensionali``, ``…/id/scheme/ateco-2007``), 72 real Piedmont
  municipalities (``schema:City``; Turin is already in the graph), the synthetic source and
  one data set.

Entities are added in rounds (ten organisations, three projects, one patent) until the
graph has ``--triples`` triples (entities are never cut: at most 40 more).  Same ``--triples`` and ``--seed``:
byte-identical output.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox

BASE = "https://w3id.org/poli-kg/"
ID = BASE + "id/"

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "org": "http://www.w3.org/ns/org#",
    "prov": "http://www.w3.org/ns/prov#",
    "qb": "http://purl.org/linked-data/cube#",
    "schema": "http://schema.org/",
    "cov": "https://w3id.org/italia/onto/COV/",
    "pkg": BASE + "ontology#",
    "sdmx-dimension": "http://purl.org/linked-data/sdmx/2009/dimension#",
    "sdmx-measure": "http://purl.org/linked-data/sdmx/2009/measure#",
    "sdmx-attribute": "http://purl.org/linked-data/sdmx/2009/attribute#",
    "eu-currency": "http://publications.europa.eu/resource/authority/currency/",
    "legal": "https://w3id.org/italia/controlled-vocabulary/classifications-for-organizations/legal-status/",
    "wd": "http://www.wikidata.org/entity/",
    "poli": ID,
    "ente": ID + "organizzazione/",
    "progetto": ID + "progetto/",
    "brevetto": ID + "brevetto/",
    "obs": ID + "osservazione/",
    "luogo": ID + "luogo/",
    "polo": ID + "polo/",
    "scheme": ID + "scheme/",
    "area": ID + "scheme/aree-tematiche/",
    "tipo": ID + "scheme/tipologie-aderenti/",
    "dim": ID + "scheme/classi-dimensionali/",
    "ateco": ID + "scheme/ateco-2007/",
    "ind": ID + "scheme/indicatori/",
    "qv": ID + "scheme/qualificatori-valore/",
    "disagg": ID + "scheme/disaggregazioni/",
    "fonte": ID + "fonte/",
}

_nodes: dict[str, ox.NamedNode] = {}


def N(curie: str) -> ox.NamedNode:
    """A named node from ``prefix:local`` (cached)."""
    node = _nodes.get(curie)
    if node is None:
        prefix, local = curie.split(":", 1)
        node = _nodes[curie] = ox.NamedNode(NS[prefix] + local)
    return node


def it(text: str) -> ox.Literal:
    return ox.Literal(text, language="it")


def en(text: str) -> ox.Literal:
    return ox.Literal(text, language="en")


def typed(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=N(datatype))


def plain(text: str) -> ox.Literal:
    return ox.Literal(text)


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_text.lower()).split())


# --------------------------------------------------------------------------- vocabularies

# The seven clusters of the real graph: slug -> thematic area concept (data/poli.ttl).
POLES = {
    "agrifood": "agroalimentare",
    "biopmed": "scienze-della-vita-e-salute",
    "cgreen": "chimica-verde-e-nuovi-materiali",
    "clever": "energia-e-tecnologie-pulite",
    "mesap": "smart-products-and-manufacturing",
    "pointex": "tessile",
    "ict": "ict",
}

# Size classes (EU recommendation 2003/361/EC).
SIZES = (
    ("micro", "Microimpresa", "Micro enterprise",
     "Impresa con meno di 10 occupati e fatturato o totale di bilancio annuo non superiore a 2 milioni di euro.",
     "An enterprise with fewer than 10 persons employed and an annual turnover or balance sheet total not exceeding EUR 2 million."),
    ("piccola", "Piccola impresa", "Small enterprise",
     "Impresa con meno di 50 occupati e fatturato o totale di bilancio annuo non superiore a 10 milioni di euro.",
     "An enterprise with fewer than 50 persons employed and an annual turnover or balance sheet total not exceeding EUR 10 million."),
    ("media", "Media impresa", "Medium-sized enterprise",
     "Impresa con meno di 250 occupati e fatturato annuo non superiore a 50 milioni di euro o totale di bilancio non superiore a 43 milioni di euro.",
     "An enterprise with fewer than 250 persons employed and an annual turnover not exceeding EUR 50 million or a balance sheet total not exceeding EUR 43 million."),
    ("grande", "Grande impresa", "Large enterprise",
     "Impresa che supera le soglie della media impresa.",
     "An enterprise above the thresholds of a medium-sized enterprise."),
)

# ATECO 2007 classes (Italian titles after ISTAT, English after NACE Rev. 2), by cluster.
ATECO = {
    "agrifood": (("01.11", "Coltivazione di cereali (escluso il riso), legumi da granella e semi oleosi",
                  "Growing of cereals (except rice), leguminous crops and oil seeds"),
                 ("10.51", "Industria lattiero-casearia", "Operation of dairies and cheese making"),
                 ("10.71", "Produzione di prodotti di panetteria e pasticceria fresca",
                  "Manufacture of bread; manufacture of fresh pastry goods and cakes"),
                 ("10.82", "Produzione di cacao, cioccolato, caramelle e confetterie",
                  "Manufacture of cocoa, chocolate and sugar confectionery"),
                 ("11.02", "Produzione di vini da uve", "Manufacture of wine from grape")),
    "biopmed": (("21.20", "Fabbricazione di medicinali e preparati farmaceutici",
                 "Manufacture of pharmaceutical preparations"),
                ("32.50", "Fabbricazione di strumenti e forniture mediche e dentistiche",
                 "Manufacture of medical and dental instruments and supplies"),
                ("72.11", "Ricerca e sviluppo sperimentale nel campo delle biotecnologie",
                 "Research and experimental development on biotechnology")),
    "cgreen": (("20.14", "Fabbricazione di altri prodotti chimici di base organici",
                "Manufacture of other organic basic chemicals"),
               ("20.16", "Fabbricazione di materie plastiche in forme primarie",
                "Manufacture of plastics in primary forms"),
               ("22.29", "Fabbricazione di altri articoli in materie plastiche",
                "Manufacture of other plastic products"),
               ("38.32", "Recupero e cernita di materiali", "Recovery of sorted materials")),
    "clever": (("27.11", "Fabbricazione di motori, generatori e trasformatori elettrici",
                "Manufacture of electric motors, generators and transformers"),
               ("35.11", "Produzione di energia elettrica", "Production of electricity"),
               ("71.12", "Attività degli studi di ingegneria ed altri studi tecnici",
                "Engineering activities and related technical consultancy")),
    "mesap": (("25.62", "Lavori di meccanica generale", "Machining"),
              ("26.51", "Fabbricazione di strumenti e apparecchi di misurazione, prova e navigazione",
               "Manufacture of instruments and appliances for measuring, testing and navigation"),
              ("28.41", "Fabbricazione di macchine utensili per la formatura dei metalli",
               "Manufacture of metal forming machinery"),
              ("29.32", "Fabbricazione di altre parti e accessori per autoveicoli",
               "Manufacture of other parts and accessories for motor vehicles")),
    "pointex": (("13.10", "Preparazione e filatura di fibre tessili", "Preparation and spinning of textile fibres"),
                ("13.20", "Tessitura", "Weaving of textiles"),
                ("13.30", "Finissaggio dei tessili", "Finishing of textiles"),
                ("14.13", "Confezione di altro abbigliamento esterno", "Manufacture of other outerwear")),
    "ict": (("26.11", "Fabbricazione di componenti elettronici", "Manufacture of electronic components"),
            ("62.01", "Produzione di software non connesso all'edizione", "Computer programming activities"),
            ("62.02", "Consulenza nel settore delle tecnologie dell'informatica",
             "Computer consultancy activities"),
            ("63.11", "Elaborazione dei dati, hosting e attività connesse",
             "Data processing, hosting and related activities")),
}
ATECO_RESEARCH = ("72.19", "Altre attività di ricerca e sviluppo sperimentale nel campo delle scienze naturali e dell'ingegneria",
                  "Other research and experimental development on natural sciences and engineering")

# Piedmont municipalities: (name, province VAT office code).  Turin is in the real graph.
CITIES = (
    ("Alessandria", "006"), ("Asti", "005"), ("Biella", "096"), ("Cuneo", "004"),
    ("Novara", "003"), ("Verbania", "103"), ("Vercelli", "002"),
    ("Moncalieri", "001"), ("Collegno", "001"), ("Rivoli", "001"), ("Nichelino", "001"),
    ("Settimo Torinese", "001"), ("Grugliasco", "001"), ("Chieri", "001"), ("Pinerolo", "001"),
    ("Venaria Reale", "001"), ("Carmagnola", "001"), ("Orbassano", "001"), ("Ivrea", "001"),
    ("Chivasso", "001"), ("San Mauro Torinese", "001"), ("Beinasco", "001"),
    ("Rivalta di Torino", "001"), ("Ciriè", "001"), ("Leinì", "001"), ("Volpiano", "001"),
    ("Avigliana", "001"), ("Giaveno", "001"), ("Cuorgnè", "001"), ("Rivarolo Canavese", "001"),
    ("Caluso", "001"), ("Piossasco", "001"), ("Trofarello", "001"), ("Susa", "001"),
    ("Caselle Torinese", "001"), ("Alpignano", "001"), ("Pianezza", "001"),
    ("Alba", "004"), ("Bra", "004"), ("Fossano", "004"), ("Mondovì", "004"), ("Saluzzo", "004"),
    ("Savigliano", "004"), ("Borgo San Dalmazzo", "004"), ("Busca", "004"), ("Cherasco", "004"),
    ("Dronero", "004"), ("Ceva", "004"), ("Racconigi", "004"),
    ("Casale Monferrato", "006"), ("Novi Ligure", "006"), ("Tortona", "006"), ("Acqui Terme", "006"),
    ("Valenza", "006"), ("Ovada", "006"), ("Serravalle Scrivia", "006"),
    ("Canelli", "005"), ("Nizza Monferrato", "005"),
    ("Cossato", "096"), ("Candelo", "096"),
    ("Borgomanero", "003"), ("Trecate", "003"), ("Galliate", "003"), ("Arona", "003"), ("Oleggio", "003"),
    ("Domodossola", "103"), ("Omegna", "103"), ("Stresa", "103"),
    ("Borgosesia", "002"), ("Santhià", "002"), ("Trino", "002"), ("Gattinara", "002"),
)
TURIN = ("Torino", "001")

SURNAMES = ("Rossi", "Ferrero", "Bianco", "Gallo", "Costa", "Martini", "Ferraris", "Bosio",
            "Rinaldi", "Gribaudo", "Giordano", "Cravero", "Barbero", "Allasia", "Bertola",
            "Operti", "Olivero", "Musso", "Chiesa", "Fenoglio", "Rosso", "Vigna", "Bruno", "Re")
QUALIFIERS = ("Alpina", "Subalpina", "Canavesana", "Langarola", "Monferrina", "Piemontese",
              "Padana", "Sabauda", "Biellese", "Novarese", "Cuneese", "Astigiana", "Torinese",
              "Ossolana", "Valsesiana", "del Roero")
TRADES = {
    "agrifood": ("Cantina", "Caseificio", "Pastificio", "Dolciaria", "Agricola", "Molini", "Nocciole"),
    "biopmed": ("Biotech", "Farmaceutica", "Diagnostica", "Biomedicale", "Life Sciences"),
    "cgreen": ("Polimeri", "Chimica", "Materiali", "Bioplastiche", "Ricicli"),
    "clever": ("Energia", "Impianti", "Solare", "Idrogeno", "Termotecnica"),
    "mesap": ("Meccanica", "Automazione", "Robotica", "Stampi", "Componenti"),
    "pointex": ("Tessile", "Filati", "Lanificio", "Tessiture", "Confezioni"),
    "ict": ("Software", "Sistemi", "Informatica", "Reti", "Digital"),
}
TOPICS = {
    "agrifood": (("tracciabilità della filiera vitivinicola", "traceability of the wine supply chain"),
                 ("imballaggi compostabili per prodotti lattiero-caseari", "compostable packaging for dairy products"),
                 ("riduzione degli scarti nella lavorazione della nocciola", "waste reduction in hazelnut processing")),
    "biopmed": (("dispositivi diagnostici point-of-care", "point-of-care diagnostic devices"),
                ("biomateriali per la medicina rigenerativa", "biomaterials for regenerative medicine"),
                ("terapie digitali per le malattie croniche", "digital therapeutics for chronic diseases")),
    "cgreen": (("bioplastiche da scarti agricoli", "bioplastics from agricultural waste"),
               ("riciclo chimico dei polimeri", "chemical recycling of polymers"),
               ("vernici a basso impatto ambientale", "low-impact coatings")),
    "clever": (("accumulo di energia per reti intelligenti", "energy storage for smart grids"),
               ("efficienza energetica degli edifici storici", "energy efficiency of historic buildings"),
               ("idrogeno verde per la mobilità", "green hydrogen for mobility")),
    "mesap": (("manutenzione predittiva delle macchine utensili", "predictive maintenance of machine tools"),
              ("robotica collaborativa per l'assemblaggio", "collaborative robotics for assembly"),
              ("manifattura additiva di componenti metallici", "additive manufacturing of metal components")),
    "pointex": (("tessuti tecnici per l'edilizia", "technical textiles for construction"),
                ("fibre riciclate per l'abbigliamento", "recycled fibres for apparel"),
                ("finissaggi antibatterici", "antibacterial finishes")),
    "ict": (("piattaforme cloud per la pubblica amministrazione", "cloud platforms for public administration"),
            ("sicurezza informatica per le PMI", "cybersecurity for SMEs"),
            ("analisi dei dati per l'Industria 4.0", "data analytics for Industry 4.0")),
}
SYLLABLES = ("TEX", "AL", "BIO", "MED", "NO", "VA", "GRE", "EN", "TRA", "CE", "SMART", "LAB",
             "PRO", "FAB", "NET", "DI", "GI", "TO", "RI", "SA")
# (ISTAT legal status, class, share) for companies; consortia and foundations are separate.
COMPANY_FORMS = (("1320", "S.r.l.", 70), ("1310", "S.p.A.", 25), ("1520", "S.c.p.a.", 5))


class Generator:
    """Produces the triples of the synthetic graph (see the module docstring)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.triples: list[ox.Triple] = []
        self.members: dict[str, list[ox.NamedNode]] = {p: [] for p in POLES}
        self.non_members: list[ox.NamedNode] = []
        self.cities = [(TURIN, N("luogo:torino"))] + [
            ((name, code), N(f"luogo:{slug(name)}")) for name, code in CITIES]
        self.source = N("fonte:dati-sintetici/estratto/generatore")
        self.n_org = self.n_project = self.n_patent = 0

    def add(self, s: ox.NamedNode, p: str, o: ox.NamedNode | ox.Literal) -> None:
        self.triples.append(ox.Triple(s, N(p), o))

    # ----------------------------------------------------------------- fixed part

    def vocabularies(self) -> None:
        add = self.add
        document = N("fonte:dati-sintetici")
        add(document, "rdf:type", N("prov:Entity"))
        add(document, "rdf:type", N("foaf:Document"))
        add(document, "rdfs:label", it("Dati sintetici di poli-kg per le prove di scala"))
        add(document, "rdfs:label", en("Synthetic poli-kg data for scale tests"))
        add(document, "dct:description", it(
            "Organizzazioni, progetti e brevetti inventati da bench/generate.py: non descrivono "
            "soggetti reali."))
        add(document, "dct:description", en(
            "Organisations, projects and patents invented by bench/generate.py: they do not "
            "describe real bodies."))
        add(self.source, "rdf:type", N("pkg:Estratto"))
        add(self.source, "rdfs:label", it("Estratto: generatore di dati sintetici"))
        add(self.source, "rdfs:label", en("Excerpt: synthetic data generator"))
        add(self.source, "prov:value", it(
            f"Dati sintetici generati con seme {self.seed}; non descrivono soggetti reali."))
        add(self.source, "pkg:sezione", it("Generatore"))
        add(self.source, "pkg:rigaIniziale", typed("1", "xsd:integer"))
        add(self.source, "pkg:rigaFinale", typed("1", "xsd:integer"))
        add(self.source, "dct:isPartOf", document)

        self.scheme("classi-dimensionali", "Classi dimensionali delle imprese",
                    "Enterprise size classes",
                    [(code, it_l, en_l, it_d, en_d) for code, it_l, en_l, it_d, en_d in SIZES])
        codes = [(c, i, e, None, None) for pole in POLES for c, i, e in ATECO[pole]]
        codes.append((*ATECO_RESEARCH, None, None))
        self.scheme("ateco-2007", "Classificazione delle attività economiche ATECO 2007",
                    "ATECO 2007 classification of economic activities", sorted(codes))

        piemonte = N("luogo:piemonte")
        for (name, _code), node in self.cities[1:]:
            add(node, "rdf:type", N("schema:City"))
            add(node, "rdf:type", N("dct:Location"))
            add(node, "rdfs:label", it(name))
            add(node, "rdfs:label", en(name))
            add(node, "schema:containedInPlace", piemonte)

        dataset = N("poli:dataset/progetti-finanziati-sintetici")
        add(dataset, "rdf:type", N("qb:DataSet"))
        add(dataset, "rdfs:label", it("Investimenti e contributi dei progetti finanziati (dati sintetici)"))
        add(dataset, "rdfs:label", en("Investment and grants of the funded projects (synthetic data)"))
        add(dataset, "qb:structure", N("poli:dsd/indicatori"))
        add(dataset, "prov:wasDerivedFrom", self.source)
        self.dataset = dataset

    def scheme(self, name: str, label_it: str, label_en: str,
               concepts: list[tuple[str, str, str, str | None, str | None]]) -> None:
        add = self.add
        scheme = N(f"scheme:{name}")
        add(scheme, "rdf:type", N("skos:ConceptScheme"))
        for p in ("rdfs:label", "skos:prefLabel"):
            add(scheme, p, it(label_it))
            add(scheme, p, en(label_en))
        for code, it_l, en_l, it_d, en_d in concepts:
            concept = ox.NamedNode(f"{scheme.value}/{code}")
            add(scheme, "skos:hasTopConcept", concept)
            add(concept, "rdf:type", N("skos:Concept"))
            add(concept, "skos:inScheme", scheme)
            add(concept, "skos:topConceptOf", scheme)
            add(concept, "skos:notation", plain(code))
            for p in ("rdfs:label", "skos:prefLabel"):
                add(concept, p, it(it_l))
                add(concept, p, en(en_l))
            if it_d:
                add(concept, "skos:definition", it(it_d))
                add(concept, "skos:definition", en(en_d))

    # ----------------------------------------------------------------- entities

    def vat(self, office: str) -> str:
        """An Italian VAT number (partita IVA): 7 digits, office code, check digit."""
        digits = f"{self.rng.randrange(10**7):07d}{office}"
        total = 0
        for i, ch in enumerate(digits):
            d = int(ch)
            if i % 2:
                d *= 2
                d -= 9 if d > 9 else 0
            total += d
        return digits + str((10 - total % 10) % 10)

    def organisation(self) -> None:
        rng, add = self.rng, self.add
        self.n_org += 1
        node = N(f"ente:gen-{self.n_org:06d}")
        pole = rng.choice(tuple(POLES))
        member = rng.random() < 0.7
        kind = rng.choices(("pmi", "grandi-imprese", "organismi-di-ricerca", "altre-tipologie"),
                           weights=(78, 12, 6, 4))[0]
        owner = rng.choice(SURNAMES)
        where = rng.choice(QUALIFIERS)
        trade = rng.choice(TRADES[pole])
        if kind == "organismi-di-ricerca" or (kind == "altre-tipologie" and rng.random() < 0.5):
            if rng.random() < 0.5:
                cls, status, name_it, name_en = ("pkg:Fondazione", "1720",
                                                 f"Fondazione {owner} per la ricerca {where.lower()}",
                                                 f"{owner} Foundation for research ({where})")
            else:
                cls, status, name_it, name_en = ("pkg:Consorzio", "1510",
                                                 f"Consorzio {trade} {where}", f"{trade} {where} Consortium")
            size = None
            sector = ATECO_RESEARCH[0] if kind == "organismi-di-ricerca" else rng.choice(ATECO[pole])[0]
        else:
            if kind == "grandi-imprese":
                status, suffix = ("1310", "S.p.A.") if rng.random() < 0.85 else ("1520", "S.c.p.a.")
                size = "grande"
            else:
                status, suffix, _w = rng.choices(COMPANY_FORMS, weights=[w for *_x, w in COMPANY_FORMS])[0]
                size = rng.choices(("micro", "piccola", "media"), weights=(45, 40, 15))[0]
            cls = "pkg:Societa"
            name_it = name_en = f"{owner} {trade} {where} {suffix}"
            sector = rng.choice(ATECO[pole])[0]
        (city, office), city_node = (self.cities[0] if rng.random() < 0.3
                                     else rng.choice(self.cities))
        add(node, "rdf:type", N(cls))
        add(node, "rdfs:label", it(name_it))
        add(node, "rdfs:label", en(name_en))
        add(node, "cov:legalName", plain(name_it))
        add(node, "cov:hasLegalStatus", N(f"legal:{status}"))
        add(node, "schema:vatID", plain(self.vat(office)))
        add(node, "schema:location", city_node)
        add(node, "org:classification", N(f"ateco:{sector}"))
        if size:
            add(node, "org:classification", N(f"dim:{size}"))
        if member:
            add(node, "org:classification", N(f"tipo:{kind}"))
            add(node, "org:memberOf", N(f"polo:{pole}"))
            self.members[pole].append(node)
            if rng.random() < 0.1:
                other = rng.choice([p for p in POLES if p != pole])
                add(node, "org:memberOf", N(f"polo:{other}"))
                self.members[other].append(node)
        else:
            self.non_members.append(node)
        add(node, "prov:wasDerivedFrom", self.source)

    def project(self) -> ox.NamedNode | None:
        rng, add = self.rng, self.add
        line_a = rng.random() < 0.75
        poles = [p for p in POLES if len(self.members[p]) >= 2]
        if not line_a and len(self.non_members) < 2:
            line_a = True
        if line_a and not poles:
            return None
        pole = rng.choice(poles) if line_a else rng.choice(tuple(POLES))
        pool = self.members[pole] if line_a else self.non_members
        partners = rng.sample(pool, min(len(pool), rng.randint(2, 6)))
        self.n_project += 1
        node = N(f"progetto:gen-{self.n_project:06d}")
        acronym = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
        topic_it, topic_en = rng.choice(TOPICS[pole])
        add(node, "rdf:type", N("schema:ResearchProject"))
        add(node, "rdfs:label", it(f"Progetto {acronym} – {topic_it}"))
        add(node, "rdfs:label", en(f"{acronym} project – {topic_en}"))
        add(node, "schema:funding", N("poli:bando/linea-a" if line_a else "poli:bando/linea-b"))
        add(node, "pkg:nelProgramma", N("poli:programma/por-fesr-2014-2020"))
        add(node, "pkg:periodo", N("poli:periodo/2014-2020"))
        add(node, "org:linkedTo", N(f"polo:{pole}"))
        add(node, "dct:subject", N(f"area:{POLES[pole]}"))
        year, month = rng.randint(2016, 2018), rng.randint(1, 12)
        months = rng.choice((18, 24, 30, 36))
        end_year, end_month = year + (month - 1 + months) // 12, (month - 1 + months) % 12 + 1
        add(node, "schema:startDate", typed(f"{year}-{month:02d}-01", "xsd:date"))
        add(node, "schema:endDate", typed(f"{end_year}-{end_month:02d}-28", "xsd:date"))
        for partner in partners:
            add(node, "schema:member", partner)
        add(node, "prov:wasDerivedFrom", self.source)

        investment = rng.randrange(1500, 60000) * 100
        grant = int(investment * rng.uniform(0.25, 0.6)) // 100 * 100
        for indicator, label_it, label_en, value in (
                ("investimento-complessivo", "Investimento complessivo", "Total investment", investment),
                ("contributi-concessi", "Contributi concessi", "Grants awarded", grant)):
            obs = N(f"obs:gen-{self.n_project:06d}-{indicator}")
            add(obs, "rdf:type", N("qb:Observation"))
            add(obs, "rdfs:label", it(f"Progetto {acronym}: {label_it} (2014-2020) = {value} €"))
            add(obs, "rdfs:label", en(f"{acronym} project: {label_en} (2014-2020) = €{value}"))
            add(obs, "qb:dataSet", self.dataset)
            add(obs, "pkg:indicatore", N(f"ind:{indicator}"))
            add(obs, "pkg:oggettoRilevazione", node)
            add(obs, "pkg:disaggregazione", N("disagg:totale"))
            add(obs, "sdmx-dimension:refPeriod", N("poli:periodo/2014-2020"))
            add(obs, "sdmx-measure:obsValue", typed(str(value), "xsd:decimal"))
            add(obs, "sdmx-attribute:unitMeasure", N("eu-currency:EUR"))
            add(obs, "pkg:qualificatoreValore", N("qv:esatto"))
            add(obs, "prov:wasDerivedFrom", self.source)
        self.last_project = (node, acronym, pole, year, partners)
        return node

    def patent(self) -> None:
        if not getattr(self, "last_project", None):
            return
        rng, add = self.rng, self.add
        project, acronym, pole, year, partners = self.last_project
        self.n_patent += 1
        node = N(f"brevetto:gen-{self.n_patent:06d}")
        filed = year + rng.randint(1, 2)
        number = f"10{filed}{rng.randrange(10**9):09d}"
        add(node, "rdf:type", N("schema:CreativeWork"))
        add(node, "dct:type", N("wd:Q253623"))
        add(node, "rdfs:label", it(f"Brevetto {number} ({acronym})"))
        add(node, "rdfs:label", en(f"Patent {number} ({acronym})"))
        add(node, "dct:identifier", plain(number))
        add(node, "dct:issued", typed(f"{filed}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                                      "xsd:date"))
        for holder in partners[: rng.randint(1, 2)]:
            add(node, "dct:creator", holder)
        add(node, "prov:wasGeneratedBy", project)
        add(node, "dct:subject", N(f"area:{POLES[pole]}"))
        add(node, "prov:wasDerivedFrom", self.source)

    # ----------------------------------------------------------------- driver

    def rounds(self) -> Iterator[None]:
        while True:
            for _ in range(10):
                self.organisation()
                yield
            for _ in range(3):
                self.project()
                yield
            self.patent()
            yield

    def generate(self, triples: int) -> list[ox.Triple]:
        """The fixed part, then whole entities until there are at least ``triples`` triples."""
        self.vocabularies()
        if len(self.triples) < triples:
            for _ in self.rounds():
                if len(self.triples) >= triples:
                    break
        return self.triples


def generate(triples: int, seed: int = 0) -> list[ox.Triple]:
    """The synthetic graph for ``seed`` with ``triples`` triples (pyoxigraph triples).

    Entities are never cut, so the count is ``triples`` rounded up to the end of the entity
    being written (at most 40 more), or the fixed vocabularies alone (~1,000) if larger.
    """
    return Generator(seed).generate(triples)


def prefixes() -> dict[str, str]:
    return dict(NS)


def write(triples: list[ox.Triple], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = ox.RdfFormat.N_TRIPLES if out.suffix == ".nt" else ox.RdfFormat.TURTLE
    kwargs = {"prefixes": prefixes()} if fmt == ox.RdfFormat.TURTLE else {}
    ox.serialize(triples, output=str(out), format=fmt, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, required=True, help="number of triples to write")
    parser.add_argument("--out", type=Path, required=True, help="output file (.nt or .ttl)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    triples = generate(args.triples, args.seed)
    write(triples, args.out)
    print(f"{len(triples)} triples -> {args.out} ({time.perf_counter() - start:.1f} s)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

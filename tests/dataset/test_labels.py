"""The labels of the data (data/**/*.ttl): each in the language of its tag, written the same
way across a vocabulary, and every cluster named the same wherever its name appears.

The checks catch the slips a reader notices first: an English name tagged ``@it`` (a
source's wording copied into the Italian label), a lower-case name among capitalised ones,
a cluster called one thing in its own file and another in the label of its participation,
its excerpt or its managing association.  Quotations of the source (``prov:value``,
``pkg:espressioneOriginale``, ``pkg:sezione``) keep the source's words and are not labels.
"""

import re

from rdflib import Literal
from rdflib.namespace import DCTERMS, ORG, RDF, RDFS, SKOS

from poli_kg.namespaces import ID, PKG

LABELS = (RDFS.label, SKOS.prefLabel, SKOS.altLabel, DCTERMS.title)
NOT_ITALIAN = {"and", "the", "of", "with", "for", "technologies", "clean", "cluster's"}
NOT_ENGLISH = {"e", "di", "del", "della", "dei", "delle", "degli", "per", "con", "nel", "nella",
               "tra", "tecnologie", "imprese", "consorzio", "associazione", "polo"}
PROPER_NAMES = {"Smart Products and Manufacturing"}
"""Names the source gives in English in its Italian text: the same in both languages."""
DASH = " – "


def labels(graph, subject, lang, props=LABELS):
    return {str(o) for p in props for o in graph.objects(subject, p)
            if isinstance(o, Literal) and o.language == lang}


def words(text):
    for name in PROPER_NAMES:
        text = text.replace(name, "")
    return set(re.findall(r"[\w’']+", text.lower()))


def test_every_label_is_in_the_language_of_its_tag(data):
    slips = []
    for prop in LABELS:
        for subject, label in data.subject_objects(prop):
            if not isinstance(label, Literal) or label.language not in ("it", "en"):
                continue
            foreign = words(str(label)) & (NOT_ITALIAN if label.language == "it" else NOT_ENGLISH)
            if foreign:
                slips.append((str(subject), label.language, str(label), sorted(foreign)))
    assert not slips, slips


def test_a_schemes_concepts_are_capitalised_alike(data):
    """In each concept scheme and language, the names start all in capitals or all in lower
    case (value qualifiers such as «oltre» are lower case by design: they precede a figure)."""
    mixed = {}
    for scheme in set(data.subjects(RDF.type, SKOS.ConceptScheme)):
        for lang in ("it", "en"):
            names = {str(label) for concept in data.subjects(SKOS.inScheme, scheme)
                     for label in labels(data, concept, lang, (SKOS.prefLabel,))}
            starts = {name[0].isupper() for name in names if name[0].isalpha()}
            if len(starts) > 1:
                mixed[(str(scheme), lang)] = sorted(names)
    assert not mixed, mixed


def test_a_cluster_is_named_after_its_short_name_and_thematic_area(data):
    """«MESAP – Smart Products and Manufacturing»: a short name of the cluster (one of its
    alternative labels), an en dash, the label of its thematic area, in both languages."""
    clusters = set(data.subjects(RDF.type, PKG.PoloDiInnovazione))
    assert len(clusters) == 7
    for cluster in clusters:
        area = data.value(cluster, PKG.areaTematica)
        for lang in ("it", "en"):
            (name,) = labels(data, cluster, lang, (RDFS.label,))
            short, dash, topic = name.partition(DASH)
            assert dash, (cluster, name)
            assert short in labels(data, cluster, lang, (SKOS.altLabel,)), (cluster, name)
            assert topic in labels(data, area, lang, (SKOS.prefLabel,)), (cluster, name)


def test_a_cluster_has_the_same_names_wherever_they_appear(data):
    """Labels naming a cluster (its participations in national clusters, the excerpt of its
    entry in the source) use one of its names in the same language."""
    checked = 0
    for participation in data.subjects(RDF.type, PKG.PartecipazioneACluster):
        cluster = data.value(participation, ORG.member)
        for lang in ("it", "en"):
            (label,) = labels(data, participation, lang, (RDFS.label,))
            names = labels(data, cluster, lang, (SKOS.altLabel,))
            assert any(label.startswith(name + " ") or label.startswith(name + ",")
                       for name in names), (label, names)
            checked += 1
    for cluster in data.subjects(RDF.type, PKG.PoloDiInnovazione):
        entry = ID["fonte/poli-di-innovazione-piemonte-2017/estratto/polo-" + str(cluster).rpartition("/")[2]]
        (label,) = labels(data, entry, "en", (RDFS.label,))
        name = re.fullmatch(r"Excerpt: (.+) entry \(lines .+\)", label).group(1)
        assert name in labels(data, cluster, "en", (SKOS.altLabel,)), (label, cluster)
        checked += 1
    assert checked == 6 * 2 + 7


def test_an_association_is_named_after_its_members(data):
    """The label of a temporary association names each member by the member's own label."""
    associations = set(data.subjects(RDF.type, PKG.AssociazioneTemporaneaDiImprese))
    assert len(associations) == 2
    for association in associations:
        for lang in ("it", "en"):
            (label,) = labels(data, association, lang, (RDFS.label,))
            for member in data.objects(association, PKG.haComponente):
                (name,) = labels(data, member, lang, (RDFS.label,))
                assert name in label, (label, name)


def test_labels_use_the_en_dash_between_names(data):
    hyphens = [str(o) for p in LABELS for o in data.objects(None, p)
               if isinstance(o, Literal) and " - " in str(o)]
    assert not hyphens, hyphens

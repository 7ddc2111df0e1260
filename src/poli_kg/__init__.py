"""poli-kg: the linked-open-data knowledge graph of Piedmont's Poli di Innovazione."""

__version__ = "1.0.0"

"""Corpus statistics: shares with their intervals, community practices, store statistics."""

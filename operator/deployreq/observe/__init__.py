"""Metrics, health probes, heap trimming."""

"""The namespace workers: read the world, ask decide, carry the step out; gate runs."""

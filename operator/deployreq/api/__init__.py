"""The API: the pydantic model (source of crds/), phases, names and annotations, the CRD generator."""

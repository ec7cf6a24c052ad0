"""Admission plugins kubesim runs after the registries' own validation: ValidatingAdmissionPolicy."""

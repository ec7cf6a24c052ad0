"""The only importer of kopf: handlers, kopf tuning, application setup."""

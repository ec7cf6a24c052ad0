"""The only code that talks to the Kubernetes API: client, credentials, informers, cache, Lease, Events."""

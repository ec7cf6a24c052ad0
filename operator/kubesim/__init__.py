"""kubesim: a local Kubernetes API server with real semantics and simulated controllers, for tests and demos."""

"""The generic store (apiserver's ``registry/generic`` store over etcd): objects by key, resourceVersions, the
watch window. It holds objects of any resource and asks the registry's strategies for what differs by kind."""

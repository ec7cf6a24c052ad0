"""The HTTP face (apiserver's ``endpoints``): routing, handlers, audit, faults, discovery, OpenAPI, the service
proxy. The only layer below the simulator that imports aiohttp."""

"""The resource handlers by verb, as apiserver's ``endpoints/handlers``: ``create``, ``get`` (get and list),
``watch``, ``update`` (update, the scale and finalize subresources), ``patch`` (patches and server-side apply),
``delete`` (delete and deletecollection); ``discovery`` answers the discovery and OpenAPI paths."""

"""What every model of the API shares: the camelCase base class, the name and image patterns, an image update."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# registry[:port]/path[:tag][@digest], lower-case path components, as the distribution reference grammar.
IMAGE_REFERENCE = (
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]+)?/)?"
    r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)


class Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", use_attribute_docstrings=True
    )


class ImageUpdate(Model):
    """One container's new image."""

    container: str = Field(
        min_length=1,
        max_length=63,
        pattern=DNS_LABEL,
        description="Name of a container in the Deployment's pod template.",
    )
    image: str = Field(
        min_length=1,
        max_length=512,
        pattern=IMAGE_REFERENCE,
        description="The image reference to set, e.g. registry.example/web:1.2.",
    )

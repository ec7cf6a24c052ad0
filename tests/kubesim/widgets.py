"""A small CRD used by kubesim's own tests: printer columns, a required field, a CEL rule, status subresource."""

from __future__ import annotations

CRD_YAML = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.test.kubesim.dev
spec:
  group: test.kubesim.dev
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: Size
      type: integer
      jsonPath: .spec.size
    - name: Color
      type: string
      jsonPath: .spec.color
    - name: Phase
      type: string
      jsonPath: .status.phase
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            x-kubernetes-validations:
            - rule: "self.size <= 10 || self.color == 'red'"
              message: big widgets must be red
            properties:
              size:
                type: integer
                minimum: 0
              color:
                type: string
                default: blue
          status:
            type: object
            properties:
              phase:
                type: string
"""


def widget_yaml(name: str, size: int = 1, color: str | None = None, namespace: str = "default") -> str:
    lines = [
        "apiVersion: test.kubesim.dev/v1",
        "kind: Widget",
        "metadata:",
        f"  name: {name}",
        f"  namespace: {namespace}",
        "spec:",
        f"  size: {size}",
    ]
    if color is not None:
        lines.append(f"  color: {color}")
    return "\n".join(lines) + "\n"

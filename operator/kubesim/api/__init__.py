"""The API's vocabulary, with no state and no I/O: resource types, Status errors, schema validation, strict
fields, selectors, label rules, merge keys, managed fields, JSONPath, durations, the protobuf decoder, tables."""

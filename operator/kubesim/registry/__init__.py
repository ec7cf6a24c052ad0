"""What differs by resource (apiserver's ``pkg/registry``): built-in defaults and validation, patching, apply."""

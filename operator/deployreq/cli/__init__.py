"""The command line: flags, the CI commands, follow/progress output."""

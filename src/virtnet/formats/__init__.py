"""Reading and writing YAML/JSON/ip-command output; no cluster access, no printing."""

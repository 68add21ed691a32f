"""virtnet: VM networking for KubeVirt + SpiderPool + Multus, declared instead of hand-edited.

Layers (checked by import-linter, see pyproject.toml):

    cli > cluster > lint | render > formats > model

``model`` is the pure domain (versions, capabilities, network modes, IP pools, intents); ``render`` turns an
intent into manifests; ``formats`` reads and writes YAML/JSON with source positions; only ``cluster`` talks to
Kubernetes and only ``cli`` prints.
"""

__version__ = "0.1.0"

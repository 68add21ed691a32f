"""Intent + versions → manifests, in apply order. No I/O: values in, values out."""

from virtnet.render.bundle import Bundle, render_bundle, render_document

__all__ = ["Bundle", "render_bundle", "render_document"]

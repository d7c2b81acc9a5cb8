"""The version, read from the installed package's metadata: pyproject.toml is its one source."""

from importlib import metadata

try:
    __version__ = metadata.version("chemoden")
except metadata.PackageNotFoundError:  # a checkout run without installing it
    __version__ = "0+unknown"

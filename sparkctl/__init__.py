"""sparkctl: provision, validate and watch clusters of 1-4 NVIDIA DGX Spark machines."""

__version__ = "0.1.0"

__version__ = '1.0.0'
# The original wrote this as `mmact_version` into checkpoint meta.
mmact_version = __version__

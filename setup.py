# Shim so that `python setup.py develop` (the original install command) keeps working.
from setuptools import setup

setup()

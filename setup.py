"""The one thing pyproject.toml cannot say: the wheel carries ontology/ (as reasoner/ontology),
so that an installed Chemoden reads its ontology through importlib.resources
(reasoner/knowledge/ontology.py). A checkout reads ontology/ itself."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithOntology(build_py):
    def run(self):
        super().run()
        if not self.editable_mode:  # an editable install reads the checkout's ontology/
            source = Path(__file__).resolve().parent / "ontology"
            target = Path(self.build_lib) / "reasoner" / "ontology"
            shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]"))


setup(cmdclass={"build_py": BuildWithOntology})

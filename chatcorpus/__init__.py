"""Tooling around the chat-dataset-baseline builder, grouped the way the work flows.

- ``chatcorpus.validation``: read contributed files and check them (schema, lint, reports);
- ``chatcorpus.release``: turn checked records into a release, verify it, publish it;
- ``chatcorpus.training``: views, identity, mixing and exports for trainers;
- ``chatcorpus.cli`` and ``chatcorpus.errors`` serve all three.

The shared schema and the configs live in the builder module ``chat_dataset_baseline``;
everything here imports them from there. The modules used to sit side by side in this
package (``chatcorpus.views``, ``chatcorpus.build`` ...); those names still import, as
aliases of the modules' new homes, so code written against them keeps working.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

__version__ = "0.1.0"

#: Where each module that used to sit in this package lives now.
MOVED_MODULES: dict[str, str] = {
    **{name: "validation" for name in ("faults", "locate", "sources", "schema_compiler", "schema_check")},
    **{name: "validation" for name in ("record_schema", "records", "rules", "textstats", "validate", "report")},
    **{name: "release" for name in ("shards", "manifest", "card", "build", "incremental")},
    **{name: "release" for name in ("verify", "publish", "summary")},
    **{name: "training" for name in ("views", "identity", "mixing", "export")},
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import ``chatcorpus.views`` as the very module ``chatcorpus.training.views``.

    Hand-written because the import system has no built-in alias: a re-exporting shim
    module would be a second module object with its own globals, so patching or
    monkeypatching one would not reach the other.
    """

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != __name__ or name not in MOVED_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        name = spec.name.rpartition(".")[2]
        return importlib.import_module(f"{__name__}.{MOVED_MODULES[name]}.{name}")

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the real module ran when it was imported under its own name.

        The import system stamps the alias's spec onto the module on the way; give the
        module its own back, so it still knows where it lives.
        """
        module.__spec__ = _spec_of(module)


def _spec_of(module: ModuleType) -> importlib.machinery.ModuleSpec | None:
    """The spec of ``module`` under its real name, found again from its package's path."""
    package = sys.modules[module.__name__.rpartition(".")[0]]
    return importlib.machinery.PathFinder.find_spec(module.__name__, package.__path__)


sys.meta_path.append(_MovedModuleFinder())

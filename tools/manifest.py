"""Read a MicroPython manifest.py the way the port's freezer does (include, package, module,
metadata; `$(PORT_DIR)` includes are the port's own and only recorded), so `make mpy` and
`make deploy` copy exactly what a board's manifest freezes."""
import os


class Manifest:
    def __init__(self):
        self.files = []          # (source path, path under /lib on the device), in order
        self.port_includes = []  # "$(PORT_DIR)/..." includes, not followed
        self.metadata = []
        self._visited = set()

    def execute(self, path):
        path = os.path.abspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.py")
        if path in self._visited:  # the freezer includes a manifest once, so do we
            return
        self._visited.add(path)
        if not os.path.isfile(path):
            raise SystemExit("manifest: %s does not exist" % path)
        here = os.path.dirname(path)

        def include(p, **kw):
            if p.startswith("$("):
                self.port_includes.append(p)
            else:
                self.execute(os.path.join(here, p))

        def package(name, files=None, base_path=".", opt=None):
            root = os.path.normpath(os.path.join(here, base_path, name))
            if not os.path.isdir(root):
                raise SystemExit("manifest %s: no package directory %s" % (path, root))
            if files is None:
                files = sorted(f for f in os.listdir(root) if f.endswith(".py"))
            for f in files:
                self._add(os.path.join(root, f), name + "/" + f, path)

        def module(name, base_path=".", opt=None):
            self._add(os.path.normpath(os.path.join(here, base_path, name)), name, path)

        def require(name, **kw):
            raise SystemExit("manifest %s: require(%r): this project's parts are include()d"
                             % (path, name))

        env = {"include": include, "package": package, "module": module, "require": require,
               "metadata": lambda **kw: self.metadata.append(kw)}
        with open(path) as f:
            exec(compile(f.read(), path, "exec"), env)

    def _add(self, src, dest, where):
        if not os.path.isfile(src):
            raise SystemExit("manifest %s: %s does not exist" % (where, src))
        if all(d != dest for _s, d in self.files):
            self.files.append((src, dest))


def read(path):
    m = Manifest()
    m.execute(path)
    return m

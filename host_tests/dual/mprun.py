# Tiny test runner for the MicroPython side of the dual-runtime tests (MicroPython has no
# pytest). Runs every test_* function of one module and brackets each with markers that
# host_tests/conftest.py parses: @@BEGIN name, then @@END PASS name, @@END FAIL name or
# @@END SKIP name reason (support.Skip). Usage: micropython mprun.py MODULE [TEST ...]
import sys

sys.path.insert(0, sys.argv[0].rpartition("/")[0] or ".")


def main():
    modname = sys.argv[1]
    wanted = sys.argv[2:]
    try:
        mod = __import__(modname)
    except Exception as e:  # an import error fails every test of the module
        print("@@IMPORT-FAIL")
        sys.print_exception(e)
        return
    from support import Skip
    names = wanted or sorted(n for n in dir(mod) if n.startswith("test_"))
    for name in names:
        print("@@BEGIN " + name)
        try:
            getattr(mod, name)()
            print("@@END PASS " + name)
        except Skip as e:
            print("@@END SKIP " + name + " " + (str(e) or "skipped").replace("\n", " "))
        except Exception as e:
            sys.print_exception(e)
            print("@@END FAIL " + name)


main()

# tokenplan's bridge to the Tinybird Python SDK (tinybird-sdk), run as
# `python -c <this> <project folder>` in the project folder, as tb 5.0.3 runs its own
# (tinybird/tb/modules/py_project.py). It prints one JSON line on stdout: the result of the
# SDK's `run_generate({"cwd": ...})`, or {"tokenplan_sdk_missing": ...} when the SDK cannot be
# imported.
import contextlib
import dataclasses
import json
import os
import sys
import sysconfig
import traceback

cwd = sys.argv[1]
out = sys.stdout

# `python -c` run in the project folder puts that folder first on sys.path, so definitions
# import their sibling modules (`from lib.tokens import reader`), from a folder without an
# __init__.py too. Say so explicitly: PYTHONSAFEPATH would drop it.
if cwd not in sys.path:
    sys.path.insert(0, cwd)

# As tb: an SDK checkout named by TB_PYTHON_SDK_PATH comes first.
sdk_path = os.environ.get("TB_PYTHON_SDK_PATH")
if sdk_path:
    sdk_path = sdk_path.rstrip("/")
    for candidate in (sdk_path, os.path.join(sdk_path, "src")):
        if os.path.exists(candidate):
            sys.path.insert(0, candidate)


def emit(value):
    out.write(json.dumps(value, default=str) + "\n")
    out.flush()
    # Exit once written: a definition may have started a thread that would keep Python alive.
    os._exit(0)


def plain(value):
    """The result as JSON-ready data, like tb's normalize_object."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


try:
    from tinybird_sdk.cli.commands.generate import run_generate
except ImportError as error:
    emit({"tokenplan_sdk_missing": f"{type(error).__name__}: {error}"})


def with_location(load):
    """The SDK reports an exception in a definition module by its message alone; name the file
    and line of the user's code where it was raised, as a traceback would."""
    paths = sysconfig.get_paths()
    library = tuple(
        os.path.abspath(paths[key]) + os.sep for key in ("stdlib", "purelib", "platlib") if key in paths
    )

    def load_module(file_path):
        try:
            return load(file_path)
        except SyntaxError:
            # Its message names the file and line already.
            raise
        except Exception as error:
            frames = [
                frame
                for frame in traceback.extract_tb(error.__traceback__)
                if not frame.filename.startswith("<")
                and not os.path.abspath(frame.filename).startswith(library)
            ]
            if not frames:
                raise
            frame = frames[-1]
            where = os.path.relpath(frame.filename, cwd).replace(os.sep, "/")
            raise RuntimeError(f"{where}:{frame.lineno}: {type(error).__name__}: {error}") from error

    return load_module


try:
    from tinybird_sdk.generator import loader

    loader._load_python_module = with_location(loader._load_python_module)
except (ImportError, AttributeError):
    # Another SDK version: its messages stay as they are.
    pass

try:
    with contextlib.redirect_stdout(sys.stderr):
        result = run_generate({"cwd": cwd})
    emit(plain(result))
except Exception as error:
    # run_generate reports its own failures; this is for one it did not catch.
    emit({"success": False, "error": f"{type(error).__name__}: {error}"})

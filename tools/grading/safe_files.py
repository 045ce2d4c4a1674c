"""Writing files for the teacher without surprises, for the student export and the nbgrader course folder.

The rules (each refusal is a ValueError whose message names the path and what to do, raised before
anything is written): the output folder is named (not empty), is a folder or does not exist yet, is
not a broken symbolic link or a loop of them; nothing is ever written through a symbolic link
(checked for every folder and file between the output folder and each file written, and opened with
O_NOFOLLOW); and, where the caller asks, a file that exists and differs from what would be written is
not overwritten unless forced (a teacher may have edited it).
"""
import errno
import os
from pathlib import Path


def symlink_loop(path):
    """Whether resolving `path` runs into a loop of symbolic links."""
    try:
        os.stat(path)
    except OSError as err:
        return err.errno == errno.ELOOP
    return False


def checked_folder(value, what, purpose, example):
    """`value` as an absolute Path for a folder to write into; ValueError if it cannot be one.

    `what` names the argument (``OUT_DIR``), `purpose` what goes there, `example` a command that would work.
    """
    if not str(value).strip():
        raise ValueError(f"{what} is empty ({str(value)!r}): name the folder for {purpose}, e.g. `{example}`")
    out = Path(value).expanduser().absolute()
    if symlink_loop(out):
        raise ValueError(f"{what} {out} is a loop of symbolic links: name a real folder")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{what} {out} is a file, not a folder: name a new folder or an existing one")
    if out.is_symlink() and not out.exists():
        raise ValueError(f"{what} {out} is a symbolic link to {os.readlink(out)}, which does not exist: "
                         f"name a real folder")
    return out


def refuse_symlinks(out, targets, who, what):
    """ValueError naming the first folder or file between `out` and a target that is a symbolic link.

    `who` says what never writes through one (``the student export``), `what` names the folder argument.
    """
    for target in targets:
        relative = target.relative_to(out)
        for path in [*reversed(relative.parents[:-1]), relative]:
            if (out / path).is_symlink():
                raise ValueError(f"{out / path} is a symbolic link (to {os.readlink(out / path)}): {who} never "
                                 f"writes through one; remove it or name another {what}")


def refuse_changed(writes, who, force_option="--force"):
    """ValueError naming the first of `writes` ({path: text}) that exists and holds other text than
    what would be written (say, a teacher's edit), unless the caller forces it."""
    for path, text in writes.items():
        if path.is_file() and path.read_text(encoding="utf-8", errors="replace") != text:
            raise ValueError(f"{path} exists and differs from the notebook {who} would write there (edited by "
                             f"hand?): nothing was written; keep your copy elsewhere, or pass {force_option} "
                             f"to overwrite it")


def open_new(target, mode):
    """Open `target` for writing without following a symbolic link there (O_NOFOLLOW where it exists)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    return os.fdopen(os.open(target, flags, 0o666), mode, **({"encoding": "utf-8"} if "b" not in mode else {}))

"""An nbgrader course folder of the course's notebooks, and running nbgrader in it with its default settings.

nbgrader's layout: COURSE_DIR/source/<assignment>/<notebook>.ipynb; each notebook is one
assignment of the same name. nbgrader copies an assignment folder's other files into release/,
so the figures a notebook links go beside it and ``../figures/x.png`` becomes ``figures/x.png``.
Written as the student export writes (:mod:`tools.grading.safe_files`): never through a symbolic
link, and a source notebook that exists and differs (a teacher's edit) only with ``force``.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from .markers import dumps, figure_links, local_figure_links, notebooks_in, source_of, stamp_notebook
from .safe_files import checked_folder, open_new, refuse_changed, refuse_symlinks

WHO = "`course.py nbgrader`"


def layout_course(notebooks_dir, course_dir, names=None, force=False):
    """Write COURSE_DIR/source/NN_name/NN_name.ipynb, stamped, for each notebook (or those in `names`).

    The figures each notebook links are copied to source/NN_name/figures/. Returns the assignment names.
    Raises ValueError (FileNotFoundError for a missing figure) before writing anything when a target is
    a symbolic link or a folder, or when a source notebook exists and differs, unless `force`.
    """
    notebooks_dir = Path(notebooks_dir)
    course_dir = checked_folder(course_dir, "COURSE_DIR", "the nbgrader course",
                                "python3 course.py nbgrader ~/rnn-course")
    paths = [p for p in notebooks_in(notebooks_dir) if names is None or p.stem in names]
    writes, copies = {}, {}
    for path in paths:  # every notebook stamped and every figure found before anything is written
        nb = json.loads(path.read_text(encoding="utf-8"))
        stamp_notebook(nb, path.name)
        folder = course_dir / "source" / path.stem
        for cell in nb["cells"]:
            text = source_of(cell)
            for figure in figure_links(text):
                found = notebooks_dir.parent / "figures" / figure
                if not found.is_file():
                    raise FileNotFoundError(f"{path.name} links ../figures/{figure}, which is not in {found.parent}")
                copies[folder / "figures" / figure] = found
            if figure_links(text):
                cell["source"] = local_figure_links(text).splitlines(keepends=True)
        writes[folder / path.name] = dumps(nb)
    refuse_symlinks(course_dir, [*writes, *copies], WHO, "COURSE_DIR")
    for target in [*writes, *copies]:
        if target.is_dir():
            raise ValueError(f"{target} is a folder where {WHO} writes a file: remove it or name another COURSE_DIR")
    if not force:
        refuse_changed(writes, WHO)
    for target, text in writes.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        with open_new(target, "w") as f:
            f.write(text)
    for target, found in copies.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(found, "rb") as f, open_new(target, "wb") as g:
            g.write(f.read())
    return [p.stem for p in paths]


def nbgrader_commands(course_dir, names):
    """The standard nbgrader commands, with its default settings, that a teacher runs in the course folder."""
    a, bin_dir = names[0], Path(sys.executable).parent
    activate = f"source {bin_dir / 'activate'}" if os.name != "nt" else str(bin_dir / "activate")
    return f"""\
In {course_dir}, with the course's environment active ({activate}: nbgrader runs the
kernels there, and needs its `alembic` on PATH). The assignments: {', '.join(names)}.
For each (here {a}; "*" does them all):

    nbgrader generate_assignment {a}   # release/{a}/: the students' copy, figures included
    # hand it out; put what comes back in submitted/<student_id>/{a}/{a}.ipynb
    # (or `nbgrader collect {a}` with an nbgrader exchange)
    nbgrader autograde {a}             # runs every submission, scores the check cells
    jupyter lab                        # Nbgrader > Formgrader: grade the written answers by hand
    nbgrader export                    # grades.csv: every student, every assignment

Autograde runs each notebook in one kernel with a 30 s limit per cell; OMP_NUM_THREADS=1 makes
the course's small models fastest, and DEEP_RNN_DATA=/path/to/corpora is needed only where the
corpora are not in the course's cache. `python3 course.py grade SUBMISSIONS_DIR` does generate and
autograde in a temporary folder and writes a CSV per student and exercise."""


def run_nbgrader(course_dir, *args, quiet=True):
    """Run one nbgrader command in `course_dir` with its default settings; raise with its log on failure."""
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course_dir}"]
    # nbgrader runs `alembic` (its gradebook's migrations) from PATH: this Python's bin/ comes first.
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    done = subprocess.run(command, cwd=course_dir, env=env, capture_output=quiet, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{done.stdout or ''}{done.stderr or ''}")
    return done

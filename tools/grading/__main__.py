"""python -m tools.grading stamp [--check] | nbgrader COURSE_DIR [--force] | grade SUBMISSIONS_DIR [options]"""
import argparse
import sys
from pathlib import Path

from .. import add_notebooks_option, notebooks_folder
from . import __doc__ as DOC
from . import grade, layout_course, nbgrader_commands, stamp
from . import scores as defaults
from .markers import points_per_notebook


def parser():
    main = argparse.ArgumentParser(prog="python -m tools.grading", description=DOC.split("\n")[0])
    commands = main.add_subparsers(dest="command", required=True)
    stamp_cmd = commands.add_parser("stamp", help="write nbgrader metadata into notebooks/*.ipynb")
    stamp_cmd.add_argument("--check", action="store_true", help="only say which notebooks would change (exit 1)")
    course_cmd = commands.add_parser("nbgrader", help="lay out an nbgrader course folder")
    course_cmd.add_argument("course_dir")
    course_cmd.add_argument("--force", action="store_true",
                            help="overwrite source notebooks that differ from what would be written (say, edited "
                                 "by hand); symbolic links are refused even so")
    grade_cmd = commands.add_parser("grade", help="autograde a folder of submissions into a CSV")
    grade_cmd.add_argument("submissions_dir")
    grade_cmd.add_argument("--out", default="scores.csv", help="the score table to write (default: scores.csv)")
    grade_cmd.add_argument("--timeout", type=float, default=defaults.TIMEOUT, metavar="SECONDS",
                           help=f"time per cell, and per check, of a submission (default {defaults.TIMEOUT}: "
                                f"notebook 06's longest cell takes about 45 s on a slow 2-core CPU)")
    grade_cmd.add_argument("--time-per-student", type=float, default=defaults.STUDENT_TIME, metavar="SECONDS",
                           help=f"time for all of one student's notebooks (default {defaults.STUDENT_TIME})")
    grade_cmd.add_argument("--memory", type=int, default=defaults.MEMORY_MB, metavar="MB",
                           help=f"address space per submission's process (default {defaults.MEMORY_MB})")
    grade_cmd.add_argument("--file-size", type=int, default=defaults.FILE_MB, metavar="MB",
                           help=f"largest file student code may write (default {defaults.FILE_MB})")
    grade_cmd.add_argument("--user", default="nobody",
                           help="run as root, student code runs as this unprivileged user (default: nobody)")
    grade_cmd.add_argument("--keep", action="store_true",
                           help="keep the grading folder (each notebook's log) even when nothing failed")
    grade_cmd.add_argument("--ipython-dir", default=None, metavar="DIR",
                           help="an IPython folder whose profile_default/startup/*.py each submission's process "
                                "runs before the student's cells, as a kernel started with IPYTHONDIR=DIR does "
                                "(default: $IPYTHONDIR; for test harnesses)")
    for command in (stamp_cmd, course_cmd, grade_cmd):
        add_notebooks_option(command)
    return main


def main(argv=None):
    args = parser().parse_args(argv)
    notebooks = notebooks_folder(args.notebooks)
    if notebooks is None:
        return 1
    try:
        if args.command == "stamp":
            changed = stamp(notebooks, check=args.check)
            for path in changed:
                print(f"{'would stamp' if args.check else 'stamped'} {path}")
            count = f"{len(changed)} notebook{'s' if len(changed) != 1 else ''}"
            print(f"{count} {'to stamp' if args.check else 'changed'}")
            for name, (points, checks, answers) in points_per_notebook(notebooks).items():
                print(f"  {name}: {points} points ({checks} checks, {answers} written answers)")
            return 1 if args.check and changed else 0
        if args.command == "nbgrader":
            names = layout_course(notebooks, args.course_dir, force=args.force)
            print(f"wrote {len(names)} assignments to {Path(args.course_dir).absolute() / 'source'}\n")
            print(nbgrader_commands(args.course_dir, names))
            return 0
        grade(args.submissions_dir, args.out, notebooks_dir=notebooks, timeout=args.timeout,
              student_time=args.time_per_student, memory_mb=args.memory, file_mb=args.file_size,
              user=args.user, keep=args.keep, ipython_dir=args.ipython_dir)
        return 0
    except (ValueError, OSError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted: {args.out} holds the scores so far (the notebook being graded: 'not graded')",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""python -m tools.grading stamp [--check] | nbgrader COURSE_DIR | grade SUBMISSIONS_DIR [--out scores.csv]"""
import argparse
import sys
from pathlib import Path

from .. import add_notebooks_option, notebooks_folder
from . import __doc__ as DOC
from . import grade, layout_course, nbgrader_commands, stamp
from .markers import points_per_notebook


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.grading", description=DOC.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    stamp_cmd = commands.add_parser("stamp", help="write nbgrader metadata into notebooks/*.ipynb")
    stamp_cmd.add_argument("--check", action="store_true", help="only say which notebooks would change (exit 1)")
    course_cmd = commands.add_parser("nbgrader", help="lay out an nbgrader course folder")
    course_cmd.add_argument("course_dir")
    grade_cmd = commands.add_parser("grade", help="autograde a folder of submissions into a CSV")
    grade_cmd.add_argument("submissions_dir")
    grade_cmd.add_argument("--out", default="scores.csv", help="the score table to write (default: scores.csv)")
    grade_cmd.add_argument("--verbose", action="store_true", help="show nbgrader's own log")
    for command in (stamp_cmd, course_cmd, grade_cmd):
        add_notebooks_option(command)
    args = parser.parse_args(argv)
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
            names = layout_course(notebooks, args.course_dir)
            print(f"wrote {len(names)} assignments to {Path(args.course_dir) / 'source'}\n")
            print(nbgrader_commands(args.course_dir, names))
            return 0
        grade(args.submissions_dir, args.out, notebooks_dir=notebooks, quiet=not args.verbose)
        return 0
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

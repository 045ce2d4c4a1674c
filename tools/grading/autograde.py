"""Grading one submitted notebook: its cells run in a sandboxed runner, its checks run here.

The submission's code cells run in order in the runner (tools/grading/sandbox.py), as a kernel runs
them, except its check cells: at each check the teacher's check cell, hidden tests included, runs in
this process against the student's function (tools/grading/remote.py). An exercise scores its points
when that cell raises nothing. Any cell that changes what the runner watches (torch's, helpers', IPython's
or builtins' functions, sys.settrace, IPython's input transformers) ends the run: every autograded
exercise of the notebook scores 0 with the note "tampered: ...". A runner that dies or runs out of time
leaves the exercises it had not reached at 0 with a "not graded: ..." note; those already checked keep
their points.
"""
import contextlib
import io
import time

from . import submissions
from .remote import Remote
from .sandbox import CallTimedOut, Runner, RunnerLost


def row(student, notebook, grade_id, points, max_points, note=""):
    return dict(student=student, notebook=notebook, grade_id=grade_id, points=points, max_points=max_points,
                note=note)


def join(*notes):
    return "; ".join(n for n in notes if n)


def rows_for(student, teacher, scores, plan=None, note=""):
    """The rows of one notebook: `scores` {check grade_id: (points, note)}; checks missing from it score 0
    with `note`; answers from `plan` (to grade by hand, or 0 when unchanged or missing)."""
    out = []
    for exercise in teacher.exercises:
        if exercise.solution:
            points, why = scores.get(exercise.grade_id, (0.0, note))
            out.append(row(student, teacher.name, exercise.grade_id, points, exercise.points, why))
        elif plan is None:
            out.append(row(student, teacher.name, exercise.grade_id, 0.0, exercise.points, note))
        else:
            text = plan.answers.get(exercise.grade_id)
            if text is None:
                out.append(row(student, teacher.name, exercise.grade_id, 0.0, exercise.points, "answer cell missing"))
            elif submissions.unanswered(text, exercise.stub):
                out.append(row(student, teacher.name, exercise.grade_id, 0.0, exercise.points, "not answered"))
            else:
                out.append(row(student, teacher.name, exercise.grade_id, "", exercise.points, "to grade by hand"))
    return out


class Notebook:
    """One submission of one notebook, graded with `grade()`; `failed` says whether its log is worth keeping."""

    def __init__(self, student, teacher, path, folder, settings, deadline):
        self.student, self.teacher, self.path, self.folder = student, teacher, path, folder
        self.settings, self.deadline = settings, deadline
        self.failed = False

    def grade(self):
        nb, problem = submissions.read_notebook(self.path)
        plan = None
        if nb is not None:
            plan, problem = submissions.plan(nb, self.teacher)
        if problem:
            return rows_for(self.student, self.teacher, {}, note=problem)
        scores, note = self.run(plan)
        missing = {e.grade_id: (0.0, f"solution cell of {e.solution} missing from the notebook")
                   for e in self.teacher.exercises if e.solution in plan.missing}
        rows = rows_for(self.student, self.teacher, {**missing, **scores}, plan, note)
        for r in rows:
            r["note"] = join(r["note"], *plan.notes)
        return rows

    def run(self, plan):
        """({check grade_id: (points, note)}, note for the checks not reached)."""
        s = self.settings
        runner = Runner(self.folder, user=s.user, limits=s.limits(self.deadline), data_dir=s.data_dir,
                        deadline=self.deadline)
        scores, where, interrupted = {}, "starting", []
        try:
            runner.start(s.startup)
            remote = Remote(runner)
            last = max((i for i, step in enumerate(plan.steps) if step[0] == "check"), default=-1)
            for step in plan.steps[:last + 1]:  # the cells after the last check cannot change a score
                if step[0] == "check":
                    where = f"the check of {step[1].solution}"
                    scores[step[1].grade_id] = self.check(remote, step[1])
                    continue
                _, index, source = step
                where = f"cell {index}"
                try:
                    reply = runner.request({"op": "cell", "index": index, "source": source},
                                           time.monotonic() + s.timeout, what=where)
                except CallTimedOut as late:  # interrupted, as Jupyter interrupts; the next cell runs
                    interrupted.append(index)
                    reply = late.args[0] if late.args and isinstance(late.args[0], dict) else {}
                if "fatal" in reply:
                    raise RunnerLost(f"the runner failed: {reply['fatal'].get('message', '')[:200]}")
                tampered = reply.get("tampered")
                if tampered:
                    shown = ", ".join(str(t) for t in tampered[:3]) + (f" and {len(tampered) - 3} more"
                                                                       if len(tampered) > 3 else "")
                    note = f"tampered: cell {index} changed {shown}"
                    return {e.grade_id: (0.0, note) for e in self.teacher.exercises if e.solution}, note
                if time.monotonic() >= self.deadline:
                    raise RunnerLost("the time limit per student ran out")
        except RunnerLost as lost:
            self.failed = True
            log = runner.folder / "log.txt"
            return scores, f"not graded: the notebook's process stopped in {where}: {lost} (log: {log})"
        finally:
            runner.close()
        if interrupted:
            self.failed = True
            cells = ", ".join(map(str, interrupted))
            note = f"cell{'s' if len(interrupted) > 1 else ''} {cells} interrupted after --timeout {s.timeout:g} s"
            scores = {k: (p, join(n, note)) for k, (p, n) in scores.items()}
        return scores, "not graded"

    def check(self, remote, exercise):
        """(points, note) of one exercise: the teacher's check cell run here against the student's function."""
        import helpers.checks
        remote.deadline = min(time.monotonic() + self.settings.timeout, self.deadline)
        namespace = {"checks": helpers.checks}
        for name in submissions.loaded_names(exercise.source):
            value = remote.resolve(name)
            if value is not None:
                namespace[name] = value
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(compile(exercise.source, f"<check cell {exercise.grade_id}>", "exec"), namespace)
        except CallTimedOut:
            return 0.0, f"timed out: the check of {exercise.solution} ran past --timeout {self.settings.timeout:g} s"
        except Exception:  # the check failed, or the student's function raised: no points, as in nbgrader
            return 0.0, ""
        finally:
            remote.release()
        return float(exercise.points), ""

"""Course work and tutorials, told by a rule anyone can re-apply to what GitHub says of a repository.

A repository is course work (``tutorials``) when, in this order:

- **GitHub Classroom**: its description is the one GitHub Classroom gives the repositories it
  makes (``<name> created by GitHub Classroom``);
- **course word**: a whole word of its ``owner/name``, description or topics is one of
  ``COURSE_WORDS`` (tutorial, course, homework, workshop, assignment, exercise, lab, bootcamp,
  lecture, ... and their plurals; course platforms: udacity, coursera, udemy), or is ``hw``
  followed by a number (``hw3``, ``HW-2``). Words are split at anything that is not a letter or
  digit, at camelCase (``JedhaBootcamp``: jedha, bootcamp) and between letters and digits
  (``lab2``: lab, 2). A course word inside another word is not one (``labels``, ``collaborate``,
  ``courseware``, ``hwang``), nor is another word made of one (``laboratory``: a research lab, not
  a class), nor a course word that is part of an ML or tool name or an English phrase
  (``NOT_COURSE``: JupyterLab, GitLab, "of course", "linear assignment", "course recommendation",
  "exercise recognition"); nor are ML words that look like teaching (``learning``, ``training``,
  ``curriculum``: never course words here);
- **farm**: it is one of ``FARM_SIZE`` or more candidates of one owner whose names start with the
  same prefix, up to a ``-``, ``_`` or ``.``, of two words at least or holding a digit (a class's
  ``assignment-2-<student>`` repositories); a one-word prefix without a digit (``mlflow-``) is
  what an organization names its products by, not a farm.

The first rule that holds is the one reported, with its evidence. Pure functions
over text: the miner may filter its candidates with them, and the analysis (``analysis/passes/
project_kind.py``, the report's methodology) counts the populations with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

COURSE_WORDS = frozenset({
    "tutorial", "tutorials", "course", "courses", "coursework", "homework", "homeworks", "workshop", "workshops",
    "assignment", "assignments", "exercise", "exercises", "lab", "labs", "bootcamp", "bootcamps", "zoomcamp",
    "lecture", "lectures", "lesson", "lessons", "classroom", "seminar", "seminars", "practicum", "capstone",
    "semester", "syllabus", "mooc", "nanodegree", "udacity", "coursera", "udemy",
})
NUMBERED = frozenset({"hw"})  # course words only when a number follows: hw3, HW-2 ("hw" alone is hardware)
# (word before, word after): a course word in a tool's name, an ML task or an English phrase
NOT_COURSE = frozenset({
    ("jupyter", "lab"), ("jupyter", "labs"), ("git", "lab"), ("co", "lab"), ("label", "studio"),
    ("of", "course"), ("course", "of"),
    ("linear", "assignment"), ("cluster", "assignment"), ("label", "assignment"), ("task", "assignment"),
    ("anchor", "assignment"), ("target", "assignment"),
    ("course", "recommendation"), ("course", "recommendations"), ("course", "recommender"),
    ("exercise", "recognition"), ("exercise", "classification"), ("exercise", "detection"),
})
CLASSROOM = re.compile(r"\bcreated\s+by\s+github\s+classroom\b", re.IGNORECASE)
FARM_SIZE = 5  # candidates of one owner sharing a prefix that make a farm
_CHUNK = re.compile(r"[^\W_]+")  # letters and digits (any script)
_SEPARATOR = re.compile(r"[-_.]")


@dataclass(frozen=True)
class Candidate:
    """What the rule reads of a repository: its ``owner/name``, description and topics (';'-joined, as
    ``manifest.csv`` writes them, or a sequence)."""

    repo: str
    description: str = ""
    topics: str | Sequence[str] = ""


@dataclass(frozen=True)
class Find:
    """Why a repository is course work: the rule (``classroom``, ``course-word``, ``farm``) and its evidence."""

    rule: str
    evidence: str


def _camel(letters: str) -> list[str]:
    """A run of letters split at camelCase: ``JedhaBootcamp`` -> Jedha, Bootcamp; ``HWang`` -> H, Wang."""
    parts, start = [], 0
    for i in range(1, len(letters)):
        here, before = letters[i], letters[i - 1]
        after = letters[i + 1] if i + 1 < len(letters) else ""
        if here.isupper() and (before.islower() or before.isupper() and after.islower()):
            parts.append(letters[start:i])
            start = i
    parts.append(letters[start:])
    return parts


def words(text: str) -> list[str]:
    """The lower-case words of a name or text, in order: split at non-alphanumerics, camelCase and
    between letters and digits (``JedhaBootcamp/01-Package_your`` -> jedha, bootcamp, 01, package, your)."""
    out: list[str] = []
    for chunk in _CHUNK.findall(text):
        for run in re.findall(r"\d+|\D+", chunk):
            out.extend(p.lower() for p in (_camel(run) if not run.isdigit() else [run]))
    return out


def course_words(text: str) -> list[str]:
    """The course words of ``text`` in order of first appearance (``hw`` with its number: ``hw3``)."""
    found: dict[str, None] = {}
    tokens = words(text)
    for i, word in enumerate(tokens):
        before = tokens[i - 1] if i else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        if word in NUMBERED and after.isdigit():
            found[f"{word}{int(after)}"] = None
        elif word in COURSE_WORDS and (before, word) not in NOT_COURSE and (word, after) not in NOT_COURSE:
            found[word] = None
    return list(found)


def _owner_name(repo: str) -> tuple[str, str]:
    owner, _, name = repo.rpartition("/")
    return owner.lower(), name.lower()


def _prefixes(name: str) -> list[str]:
    """The prefixes of a name a farm may share: up to each separator, of two words at least or holding a digit."""
    cuts = [m.start() for m in _SEPARATOR.finditer(name)]
    return [name[:cut] for cut in cuts
            if cut and (_SEPARATOR.search(name[:cut]) or any(c.isdigit() for c in name[:cut]))]


def farms(repos: Iterable[str]) -> dict[str, str]:
    """The repositories of ``repos`` (``owner/name``) that belong to a farm, with its evidence: the
    longest prefix at least ``FARM_SIZE`` names of the owner share (``farm of 12 repositories of
    acme named hw3-*``)."""
    groups: dict[tuple[str, str], set[str]] = {}
    for repo in repos:
        owner, name = _owner_name(repo)
        for prefix in _prefixes(name):
            groups.setdefault((owner, prefix), set()).add(repo)
    out: dict[str, str] = {}
    for (owner, prefix), members in sorted(groups.items(), key=lambda g: len(g[0][1])):  # longest prefix last
        if len(members) >= FARM_SIZE:
            for repo in members:
                out[repo] = f"{len(members)} repositories of {owner or '(no owner)'} named {prefix}-*"
    return out


def _topics(topics: str | Sequence[str]) -> str:
    return " ".join(topics.split(";") if isinstance(topics, str) else topics)


def find(candidate: Candidate, farm: str = "") -> Find | None:
    """Why ``candidate`` is course work (``farm``: its evidence from ``farms``, '' when in none), or None."""
    if CLASSROOM.search(candidate.description):
        return Find("classroom", f"description: {candidate.description.strip()[:120]}")
    places = [(where, course_words(text)) for where, text in
              (("name", candidate.repo), ("description", candidate.description), ("topics", _topics(candidate.topics)))]
    evidence = "; ".join(f"{where}: {', '.join(found)}" for where, found in places if found)
    if evidence:
        return Find("course-word", evidence)
    if farm:
        return Find("farm", farm)
    return None


def tutorials(candidates: Iterable[Candidate]) -> dict[str, Find]:
    """Every candidate that is course work, by repository, with why; farms are looked for among all of them."""
    every = list(candidates)
    farm = farms(c.repo for c in every)
    found = {c.repo: find(c, farm.get(c.repo, "")) for c in every}
    return {repo: f for repo, f in found.items() if f is not None}

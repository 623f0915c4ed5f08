"""Finding and reading the files a scan covers, and telling what each one is.

Files are recognised by content as well as by name: a CloudFormation template can be
called anything, and a Terraform plan is just JSON. Every failure to read a file the
scan should cover (binary, not UTF-8, too large, unreadable, a symlink loop) becomes an
`InputError` naming the file; the walk goes on with the rest.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from costbreaker.inventory import InputError, Notice

CLOUDFORMATION = "cloudformation"
TERRAFORM = "terraform"
TERRAFORM_PLAN = "terraform-plan"

# Extensions worth opening during a folder walk (and files without one); a file named
# on the command line is opened whatever its name. What is opened is then recognised
# by content.
CANDIDATE_SUFFIXES = {".json", ".yaml", ".yml", ".template", ".cfn", ".tf"}
SKIPPED_DIRS = {".git", ".hg", ".svn", ".terraform", "node_modules", "__pycache__", ".venv"}

MAX_TEMPLATE_BYTES = 10 * 1024 * 1024  # CloudFormation itself accepts 1 MB
MAX_PLAN_BYTES = 512 * 1024 * 1024

_CFN_TYPE = re.compile(rb"""Type["']?\s*:\s*["']?(?:AWS|Custom|Alexa)::""")
# A top-level `Resources:` in YAML, or a `"Resources": {` mapping in JSON; not the word
# inside a string (a SARIF file's rule help quotes template snippets).
_RESOURCES_KEY = re.compile(rb"""(?m)^Resources[ \t]*:|"Resources"\s*:\s*\{""")
_PLAN_HEAD = re.compile(rb'^\s*\{\s*"format_version"')


@dataclass(frozen=True)
class SourceFile:
    """A file to parse: its display path, text and what it is."""

    path: Path
    display: str  # repository-relative POSIX path, as reports show it
    text: str
    kind: str


def display_path(path: Path, root: Path) -> str:
    """Path relative to the root (the working directory) when inside it, else absolute."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _looks_like_cloudformation(data: bytes) -> bool:
    if b"AWSTemplateFormatVersion" in data:
        return True
    return _RESOURCES_KEY.search(data) is not None and _CFN_TYPE.search(data) is not None


def classify(name: str, data: bytes) -> str | None:
    """What a file is, from its name and bytes; None when it is none of ours."""
    if name.endswith(".tf"):
        return TERRAFORM
    if _PLAN_HEAD.match(data[:256]) and (
        b'"planned_values"' in data or b'"resource_changes"' in data
    ):
        return TERRAFORM_PLAN
    if _looks_like_cloudformation(data):
        return CLOUDFORMATION
    return None


class FileWalker:
    """Collects SourceFiles from the paths a user named, recording every problem."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or Path.cwd()).resolve()
        self.files: list[SourceFile] = []
        self.errors: list[InputError] = []
        self.notices: list[Notice] = []
        self._seen_dirs: set[tuple[int, int]] = set()
        self._seen_files: set[str] = set()

    def walk(self, paths: list[str]) -> list[SourceFile]:
        for raw in paths:
            path = Path(raw)
            abspath = Path(os.path.abspath(path))
            shown = display_path(abspath, self.root)
            try:
                st = abspath.stat()
            except OSError as exc:
                self.errors.append(InputError(shown, _os_message(exc)))
                continue
            if stat.S_ISDIR(st.st_mode):
                self._walk_dir(abspath)
            else:
                self._read(abspath, explicit=True)
        return self.files

    def _walk_dir(self, directory: Path) -> None:
        try:
            st = directory.stat()
        except OSError as exc:
            self.errors.append(InputError(display_path(directory, self.root), _os_message(exc)))
            return
        key = (st.st_dev, st.st_ino)
        if key in self._seen_dirs:
            # A symlink loop or a second path to a folder already walked: walk it once.
            return
        self._seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            self.errors.append(InputError(display_path(directory, self.root), _os_message(exc)))
            return
        for entry in entries:
            path = directory / entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError as exc:
                self.errors.append(InputError(display_path(path, self.root), _os_message(exc)))
                continue
            if is_dir:
                if entry.name not in SKIPPED_DIRS:
                    self._walk_dir(path)
                continue
            if entry.name.endswith(".tf.json"):
                self.notices.append(
                    Notice(
                        display_path(path, self.root),
                        "Terraform JSON syntax (.tf.json) is not supported; not scanned "
                        "(scan a plan from 'terraform show -json' instead)",
                    )
                )
                continue
            suffix = Path(entry.name).suffix.lower()
            if suffix in CANDIDATE_SUFFIXES or (not suffix and not entry.name.startswith(".")):
                self._read(path, explicit=False)

    def _read(self, path: Path, explicit: bool) -> None:
        shown = display_path(path, self.root)
        try:
            real = os.path.realpath(path)
            if real in self._seen_files:
                return
            self._seen_files.add(real)
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                # A FIFO or device would block or never end: never open one.
                if explicit:
                    self.errors.append(InputError(shown, "not a regular file; not scanned"))
                return
            size = st.st_size
            with open(path, "rb") as handle:
                head = handle.read(256)
                is_plan = bool(_PLAN_HEAD.match(head))
                limit = MAX_PLAN_BYTES if is_plan else MAX_TEMPLATE_BYTES
                if size > limit:
                    if explicit or path.suffix.lower() in CANDIDATE_SUFFIXES:
                        self.errors.append(
                            InputError(
                                shown,
                                f"file is {size / 1048576:.1f} MiB, over the "
                                f"{limit // 1048576} MiB limit for "
                                f"{'a plan' if is_plan else 'a template'}; not scanned",
                            )
                        )
                    return
                data = head + handle.read()
        except OSError as exc:
            self.errors.append(InputError(shown, _os_message(exc)))
            return
        kind = classify(path.name, data)
        if kind is None:
            if explicit:
                self.notices.append(
                    Notice(shown, "not a CloudFormation template or Terraform file; skipped")
                )
            return
        if b"\x00" in data[:8192]:
            self.errors.append(
                InputError(shown, "binary file (contains NUL bytes), not a text template")
            )
            return
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            self.errors.append(
                InputError(
                    shown,
                    f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}"
                    " (save the file as UTF-8)",
                    line=line,
                )
            )
            return
        self.files.append(SourceFile(path, shown, text, kind))


def _os_message(exc: OSError) -> str:
    if exc.errno is not None and exc.errno == 40:  # ELOOP
        return "symbolic link loop; not scanned"
    reason = exc.strerror or str(exc)
    return f"cannot read: {reason.lower()}"

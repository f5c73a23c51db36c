"""Plain helpers of the safety tests (test_safety*.py): what a user had on disk, compared before and after."""
import hashlib
import os
import shutil
from pathlib import Path

SMALL_NET = ("--batch", "8", "--ngf", "8")   # the networks' tests train small


def snapshot(path):
    """{relative path: sha256 of the bytes, 'dir', or 'link -> target'} of the tree at `path`
    ('.' is the root itself); {} when nothing is there."""
    path = Path(path)
    if path.is_symlink():
        return {".": f"link -> {os.readlink(path)}"}
    if path.is_file():
        return {".": hashlib.sha256(path.read_bytes()).hexdigest()}
    if not path.is_dir():
        return {}
    tree = {".": "dir"}
    for root, dirs, files in os.walk(path):
        for name in sorted(dirs + files):
            entry = Path(root) / name
            rel = str(entry.relative_to(path))
            if entry.is_symlink():
                tree[rel] = f"link -> {os.readlink(entry)}"
            elif entry.is_dir():
                tree[rel] = "dir"
            else:
                tree[rel] = hashlib.sha256(entry.read_bytes()).hexdigest()
    return tree


def snapshots(*paths):
    return {str(p): snapshot(p) for p in paths}


def copy_dataset(source, dest):
    shutil.copytree(source, dest, symlinks=True)
    return Path(dest)

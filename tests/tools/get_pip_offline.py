# -*- coding: utf-8 -*-
# Copyright: identitynow.tasks contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Offline stand-in for the get-pip.py script ansible-test downloads to put pip into its venvs.

ansible-test fetches that script from a host this machine cannot reach; it also accepts a copy in
~/.ansible/test/cache/get_pip_<version>.py, which `make` fills with this file. Like get-pip.py it
takes pip install arguments (e.g. ``pip==24.2 --no-setuptools --no-wheel``): it bootstraps the pip
bundled with Python (ensurepip), then installs the requested packages from the package index.
"""

from __future__ import annotations

import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")


def main():
    # In a child process: ensurepip turns off the pip configuration of the process it runs in.
    status = subprocess.call([sys.executable, "-m", "ensurepip", "--upgrade"])
    if status:
        return status
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    return subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade"] + args)


if __name__ == "__main__":
    sys.exit(main())

#!/bin/sh
# The agent image's one install step. The Dockerfile runs it, and tests/images runs it too, so the
# smoke test exercises the very commands and pins the image is built with.
#
# usage: install.sh VENV_DIR
#   FLYTEKIT_VERSION  flytekit release to pin (required)
#   PLUGIN_VERSION    plugin release to install from PyPI; with WHEELS, the version the wheels must carry
#   WHEELS            a directory of wheels built from the checkout; used instead of PyPI when it holds ours
#   PYTHON            the interpreter the venv is made from (default: python3)
set -eu

venv=${1:?usage: install.sh VENV_DIR}
: "${FLYTEKIT_VERSION:?FLYTEKIT_VERSION must name the flytekit release to pin}"

# The wheel of package $1 in $WHEELS (at PLUGIN_VERSION when given); fails unless exactly one matches.
wheel() {
    pattern="$WHEELS/$1-${PLUGIN_VERSION:-*}-py3-none-any.whl"
    # Unquoted on purpose: the version part globs when PLUGIN_VERSION is unset.
    # shellcheck disable=SC2086
    set -- "$WHEELS/$1-"${PLUGIN_VERSION:-*}-py3-none-any.whl
    if [ ! -f "$1" ]; then
        echo "install.sh: no wheel matches $pattern" >&2
        exit 1
    elif [ $# -ne 1 ]; then
        echo "install.sh: several wheels match $pattern: $*" >&2
        exit 1
    fi
    echo "$1"
}

if [ -n "${WHEELS:-}" ] && ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    batch=$(wheel flytekitplugins_openai_batch)
    files=$(wheel flytekitplugins_openai_files)
else
    : "${PLUGIN_VERSION:?PLUGIN_VERSION must name the plugin release when WHEELS holds no wheels}"
    # The batch package names its files part unpinned; the image pins both to the release.
    batch="flytekitplugins-openai-batch==$PLUGIN_VERSION"
    files="flytekitplugins-openai-files==$PLUGIN_VERSION"
fi

uv venv --quiet --python "${PYTHON:-python3}" "$venv"
# --no-build: every dependency must come as a wheel, so no compiler is needed, in the image or here.
# flytekit's connector extra brings what `pyflyte serve connector` needs (grpc health, prometheus).
uv pip install --python "$venv/bin/python" --no-build "$batch" "$files" "flytekit[connector]==$FLYTEKIT_VERSION"

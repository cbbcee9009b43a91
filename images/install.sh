#!/bin/sh
# The images' one install step. The Dockerfile runs it in each image's venv stage, and tests/images
# runs it too, so the smoke tests exercise the very commands and pins the images are built with.
#
# usage: install.sh IMAGE VENV_DIR
#   IMAGE             files (the upload/download tasks), agent (the connector) or flyte2 (the Flyte 2
#                     connector): what goes in the venv
#   FLYTEKIT_VERSION  flytekit release to pin (required for files and agent)
#   FLYTE_VERSION     flyte release to pin (required for flyte2)
#   PLUGIN_VERSION    plugin release to install from PyPI; with WHEELS, the version the wheels must carry
#   WHEELS            a directory of wheels built from the checkout; used instead of PyPI when it holds ours
#   PYTHON            the interpreter the venv is made from (default: python3)
set -eu

image=${1:?usage: install.sh IMAGE VENV_DIR}
venv=${2:?usage: install.sh IMAGE VENV_DIR}
case $image in
    files)
        packages="flytekitplugins-openai-files openai-batch-jobs"
        framework=flytekit
        extra=
        ;;
    agent)
        # The image pins the batch package and the two it builds on to the release.
        packages="flytekitplugins-openai-batch flytekitplugins-openai-files openai-batch-jobs"
        # flytekit's connector extra brings what `pyflyte serve connector` needs (grpc health, prometheus).
        framework=flytekit
        extra="[connector]"
        ;;
    flyte2)
        packages="flyteplugins-openai-batch openai-batch-jobs"
        # flyte's connector extra brings `c0`, flyte's connector server, and what it needs.
        framework=flyte
        extra="[connector]"
        ;;
    *)
        echo "install.sh: unknown image '$image' (files, agent or flyte2)" >&2
        exit 2
        ;;
esac
if [ "$framework" = flyte ]; then
    pin=${FLYTE_VERSION:-}
    variable=FLYTE_VERSION
else
    pin=${FLYTEKIT_VERSION:-}
    variable=FLYTEKIT_VERSION
fi
if [ -z "$pin" ]; then
    echo "install.sh: $variable must name the $framework release to pin" >&2
    exit 2
fi

# The wheel of package $1 in $WHEELS (at PLUGIN_VERSION when given); fails unless exactly one matches.
wheel() {
    stem=$(echo "$1" | tr - _)
    pattern="$WHEELS/$stem-${PLUGIN_VERSION:-*}-py3-none-any.whl"
    # Unquoted on purpose: the version part globs when PLUGIN_VERSION is unset.
    # shellcheck disable=SC2086
    set -- "$WHEELS/$stem-"${PLUGIN_VERSION:-*}-py3-none-any.whl
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
    from_wheels=yes
else
    : "${PLUGIN_VERSION:?PLUGIN_VERSION must name the plugin release when WHEELS holds no wheels}"
    from_wheels=
fi
requirements=
for package in $packages; do
    if [ -n "$from_wheels" ]; then
        requirement=$(wheel "$package")
    else
        requirement="$package==$PLUGIN_VERSION"
    fi
    requirements="$requirements $requirement"
done

uv venv --quiet --python "${PYTHON:-python3}" "$venv"
# --no-build: every dependency must come as a wheel, so no compiler is needed, in the image or here.
# Word splitting on purpose: wheel paths and pins hold no spaces.
# shellcheck disable=SC2086
uv pip install --python "$venv/bin/python" --no-build $requirements "$framework$extra==$pin"

#!/usr/bin/env bash
# Build and run this project's container images with podman on a machine that
# has no Docker engine and no reachable container registry.
#
# The Dockerfiles' base images cannot be pulled here, so `bases` builds LOCAL
# STAND-INS from Debian packages and tags them with the official names:
#   python:3.11-slim                   (docker.io/library/python:3.11-slim)
#   public.ecr.aws/lambda/python:3.11  (the real one is Amazon Linux; this is Debian)
# Python is 3.11 because no Debian suite debootstrap can fetch ships 3.12
# (bookworm: 3.11, trixie: 3.13) and 3.11 matches the dev machines.
#
# Usage: .ci/podman.sh setup | bases | env
#        .ci/podman.sh build <Dockerfile> <tag> [podman build args...]   (context: $PWD)
#        .ci/podman.sh run [podman run args...]
set -euo pipefail

PY=3.11 SUITE=bookworm MIRROR=http://deb.debian.org/debian
SLIM=docker.io/library/python:$PY-slim
LAMBDA=public.ecr.aws/lambda/python:$PY
REV=2   # bump when the stand-in recipe below changes: forces a rebuild
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/loan-risk-podman
# tmpfs, so a restarted machine never sees stale mount/lock state
RUNDIR=/dev/shm/loan-risk-podman

export CONTAINERS_CONF=$CACHE/containers.conf
export CONTAINERS_STORAGE_CONF=$CACHE/storage.conf

say() { echo "podman.sh: $*" >&2; }
standin_notice() {
  say "NOTE: $SLIM and $LAMBDA here are LOCAL STAND-INS built from Debian $SUITE" \
      "(the real Lambda base is Amazon Linux); they were not pulled from any registry."
}

setup() {
  if ! { command -v podman && command -v buildah && command -v runc && command -v debootstrap; } >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc debootstrap
  fi
  mkdir -p "$CACHE"
  # No systemd/journald on these machines: cgroupfs + file event log.
  # runc fails with "error setting rlimit ... operation not permitted" when a
  # limit exceeds what this sandbox allows: podman's default nofile (1048576)
  # is above the host's hard limit, and nproc above pid_max (32768) is refused
  # although the host's hard nproc is higher. So pin both explicitly.
  local nofile nproc
  nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
  nproc=$(( nproc > $(cat /proc/sys/kernel/pid_max) ? $(cat /proc/sys/kernel/pid_max) : nproc ))
  cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
log_driver = "k8s-file"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$RUNDIR/libpod"
EOF
  cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$CACHE/storage"
runroot = "$RUNDIR/storage"
EOF
}

have_image() { # exists and was built by this REV of the recipe
  [ "$(podman image inspect --format '{{index .Labels "loan-risk.standin-rev"}}' "$1" 2>/dev/null)" = "$REV" ]
}

build_slim() {
  local tar=$CACHE/$SUITE-python$PY-rev$REV.tar
  if [ ! -s "$tar" ]; then
    root=$(mktemp -d "$CACHE/rootfs.XXXX")
    trap 'rm -rf "$root"' EXIT   # no half-built rootfs left behind on failure
    # --include installs Depends only, like the slim image: no compilers.
    debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
      "$SUITE" "$root" "$MIRROR"
    # Official image: `python`, `python3`, `pip` in /usr/local/bin and pip installs
    # into the system interpreter, so drop Debian's PEP 668 guard.
    rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
    for c in python python3 "python$PY"; do ln -sf /usr/bin/python$PY "$root/usr/local/bin/$c"; done
    for c in pip pip3 "pip$PY"; do ln -sf /usr/bin/pip3 "$root/usr/local/bin/$c"; done
    # Trust the extra CAs the host trusts (this network's TLS-intercepting egress),
    # or pip/apt-over-https inside builds fail certificate checks.
    python3 - /etc/ssl/certs/ca-certificates.crt "$root" <<'EOF'
import re, sys
pem = lambda p: re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", open(p).read(), re.S)
have = set(pem(sys.argv[2] + "/etc/ssl/certs/ca-certificates.crt"))
for i, c in enumerate(c for c in pem(sys.argv[1]) if c not in have):
    open(f"{sys.argv[2]}/usr/local/share/ca-certificates/host-extra-{i}.crt", "w").write(c + "\n")
EOF
    chroot "$root" update-ca-certificates >/dev/null
    # apt sources like the official image, so `apt-get install libgomp1` in a Dockerfile works.
    rm -f "$root/etc/apt/sources.list"
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: %s-security\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$MIRROR" "$SUITE" "$SUITE" "$MIRROR" "$SUITE" >"$root/etc/apt/sources.list.d/debian.sources"
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old "$root"/usr/share/{doc,man,info}/*
    tar --numeric-owner -C "$root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$root"
  fi
  local ver; ver=$(tar -xOf "$tar" ./var/lib/dpkg/status \
    | awk -v p="python$PY-minimal" '$0=="Package: "p{f=1} f&&/^Version:/{print $2; exit}')
  podman import \
    --change "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV LANG=C.UTF-8" \
    --change "ENV PYTHON_VERSION=${ver%%-*}" \
    --change "LABEL loan-risk.standin-rev=$REV" --change "LABEL loan-risk.standin=debian-$SUITE" \
    --change 'CMD ["python3"]' \
    "$tar" "$SLIM"
}

build_lambda() {
  local ctx=$CACHE/lambda-ctx
  mkdir -p "$ctx"
  # The Runtime Interface Emulator ships inside the aws-sam-cli wheel (PyPI).
  if [ ! -x "$ctx/aws-lambda-rie" ]; then
    local d arch; d=$(mktemp -d) arch=$(uname -m | sed 's/aarch64/arm64/')
    python3 -m pip download --quiet --no-deps --dest "$d" aws-sam-cli
    python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
      "$d"/aws_sam_cli-*.whl "samcli/local/rapid/aws-lambda-rie-$arch" >"$d/rie"
    install -m 755 "$d/rie" "$ctx/aws-lambda-rie"
    rm -rf "$d"
  fi
  # Same contract as the real image's /lambda-entrypoint.sh: handler is $1 (the CMD);
  # without AWS_LAMBDA_RUNTIME_API (i.e. not in Lambda) run under the emulator.
  cat >"$ctx/lambda-entrypoint.sh" <<'EOF'
#!/bin/sh
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"
RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie $RUNTIME_ENTRYPOINT
else
  exec $RUNTIME_ENTRYPOINT
fi
EOF
  # awslambdaric lives in /var/runtime (as in the real image), out of the way of
  # the app's own site-packages; task root first on the path.
  cat >"$ctx/bootstrap" <<EOF
#!/bin/sh
export AWS_EXECUTION_ENV=AWS_Lambda_python$PY
export PYTHONPATH="\$LAMBDA_TASK_ROOT:\$LAMBDA_RUNTIME_DIR\${PYTHONPATH:+:\$PYTHONPATH}"
exec python$PY -m awslambdaric "\$_HANDLER"
EOF
  cat >"$ctx/Containerfile" <<EOF
FROM $SLIM
ENV LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime \\
    PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin:/usr/sbin:/sbin
RUN pip install --no-cache-dir --quiet --root-user-action=ignore --target /var/runtime awslambdaric \\
 && mkdir -p /var/task /var/lang/bin \\
 && for c in python python3 python$PY pip pip3 pip$PY; do ln -s /usr/local/bin/\$c /var/lang/bin/\$c; done
COPY --chmod=755 aws-lambda-rie /usr/local/bin/aws-lambda-rie
COPY --chmod=755 lambda-entrypoint.sh /lambda-entrypoint.sh
COPY --chmod=755 bootstrap /var/runtime/bootstrap
WORKDIR /var/task
LABEL loan-risk.standin-rev=$REV loan-risk.standin=debian-$SUITE
ENTRYPOINT ["/lambda-entrypoint.sh"]
EOF
  podman build --pull=never --network host -t "$LAMBDA" "$ctx"
}

bases() {
  setup
  standin_notice
  have_image "$SLIM" || build_slim
  have_image "$LAMBDA" || build_lambda
  podman images --filter "label=loan-risk.standin-rev=$REV"
}

case ${1:-} in
  setup) setup ;;
  bases) bases ;;
  env) echo "export CONTAINERS_CONF=$CONTAINERS_CONF CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF" ;;
  build)
    [ $# -ge 3 ] || { echo "usage: $0 build <Dockerfile> <tag> [podman build args...]" >&2; exit 2; }
    bases >/dev/null
    file=$2 tag=$3; shift 3
    exec podman build --pull=never --network host -f "$file" -t "$tag" "$@" . ;;
  run)
    shift
    setup
    exec podman run --pull=never --network host "$@" ;;
  *) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac

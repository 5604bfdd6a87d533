#!/usr/bin/env bash
# Installs every Debian package (and the PyPI packages jsonschema, kubernetes-validate and compliance-trestle) that cloister's build, tests and
# benchmarks need on a fresh Debian 12. Idempotent: packages already installed are skipped, so
# a second run costs one dpkg query. Must run as root (CI and the dev machines are root).
set -euo pipefail

# C libraries the package's .systemLibrary targets link against (see Package.swift).
# libc6-dev: libc.a, for the statically linked `cloister` front (-static-executable; its
# libseccomp.a comes with libseccomp-dev). libxml2-dev: libxml2.so, which the release
# `cloister-full` links by name because its Swift runtime and Foundation are linked statically
# (static FoundationXML needs it; see Package.swift).
BUILD_PACKAGES=(pkg-config libseccomp-dev libcap-dev libselinux1-dev libapparmor-dev libc6-dev libxml2-dev)
# Real workloads the integration tests start and scan (DESIGN.md: real components).
# containernetworking-plugins and iptables: podman's default bridge network (CNI on Debian 12);
# spelled out because apt could satisfy podman's network stack with netavark instead.
RUNTIME_PACKAGES=(podman runc bubblewrap firejail uidmap fuse-overlayfs slirp4netns
                  containernetworking-plugins iptables qemu-system-x86 qemu-utils busybox-static cpio)
# The engines users run, started by the integration tests themselves (Tests/CloisterIntegrationTests/
# Engines): Docker (dockerd on containerd), containerd with ctr, systemd-nspawn.
RUNTIME_PACKAGES+=(docker.io containerd systemd-container)
# libvirt: libvirtd and virtlogd (libvirt-daemon-system, with the QEMU driver), started by PID by
# Tests/CloisterIntegrationTests/Engines/LibvirtDaemon.swift; virsh is libvirt-clients' (below).
RUNTIME_PACKAGES+=(libvirt-daemon-system libvirt-daemon-driver-qemu)
# The guest lab (scripts/guest-lab.sh): a Debian 12 guest built with debootstrap, made into a
# disk image with mke2fs -d (e2fsprogs), booted under qemu TCG with AppArmor and cgroup v2 only.
RUNTIME_PACKAGES+=(debootstrap e2fsprogs)
# Real validators of what cloister writes: AppArmor profiles, SELinux CIL, SARIF (jsonschema).
# libvirt-clients (virt-xml-validate) and libxml2-utils (the xmllint it calls): libvirt's own
# RELAX NG schema for the domains `profile --emit libvirt` writes.
VALIDATOR_PACKAGES=(apparmor secilc python3-jsonschema libvirt-clients libxml2-utils)
# chromium: the HTML report is loaded headless in a real browser (HTMLReportTests): its DOM
# after the inline script ran under the report's Content-Security-Policy, and a screenshot.
VALIDATOR_PACKAGES+=(chromium)
# The scan benchmark (scripts/bench-scan.sh): hyperfine for wall time, GNU time for peak RSS.
BENCH_PACKAGES=(hyperfine time jq)
# `cloister serve`: a real Prometheus scrapes /metrics in ServeTests, python3-jsonpatch applies
# the /mutate patch there, openssl makes its TLS certificate, and wrk loads the server in
# scripts/bench-serve.sh.
SERVE_PACKAGES=(prometheus wrk python3-jsonpatch openssl)
# test-assets.sh downloads a kernel package with apt-get download; procps for ps/pgrep in tests.
ASSET_PACKAGES=(apt-utils procps iproute2 ca-certificates)

PACKAGES=("${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "${VALIDATOR_PACKAGES[@]}"
          "${BENCH_PACKAGES[@]}" "${SERVE_PACKAGES[@]}" "${ASSET_PACKAGES[@]}")
# LXC: the scanner identifies LXC containers, and an integration test starts one
# (lxc-create -t busybox, no network).
PACKAGES+=(lxc lxc-templates)

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps.sh: must run as root (it calls apt-get install)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]})); then
    echo "install-deps.sh: installing ${missing[*]}"
    apt-get update -qq
    # Packages with daemons (docker.io, containerd, prometheus) must not start them: the tests
    # start what they need by PID. policy-rc.d is Debian's switch for that, kept if present.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "install-deps.sh: all ${#PACKAGES[@]} Debian packages already installed"
fi

# apt-cache must know the kernel packages for test-assets.sh, even when nothing was missing.
if ! apt-cache pkgnames linux-image- 2>/dev/null | grep -q -- '-cloud-amd64$'; then
    apt-get update -qq
fi

# python3 on PATH may not be Debian's (pyenv on the dev machines): make sure the interpreter
# that the SARIF validation will call has jsonschema, from PyPI if Debian's does not serve it.
if ! python3 -c 'import jsonschema' 2>/dev/null; then
    echo "install-deps.sh: installing jsonschema for $(command -v python3) from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check jsonschema
fi
# Likewise jsonpatch, which ServeTests uses to apply the /mutate patch.
if ! python3 -c 'import jsonpatch' 2>/dev/null; then
    echo "install-deps.sh: installing jsonpatch for $(command -v python3) from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check jsonpatch
fi

# Fail loudly now rather than in the middle of a test run.
for tool in podman runc bwrap firejail qemu-system-x86_64 busybox cpio hyperfine prometheus wrk \
            apparmor_parser secilc newuidmap pkg-config debootstrap mke2fs libvirtd virtlogd virsh; do
    command -v "$tool" >/dev/null || { echo "install-deps.sh: $tool missing after install" >&2; exit 1; }
done
[[ -x /usr/bin/time ]] || { echo "install-deps.sh: /usr/bin/time missing after install" >&2; exit 1; }
# kubernetes-validate checks the Kubernetes manifests `cloister profile --emit kubernetes`
# writes against the API's schemas (integration tests).
if ! command -v kubernetes-validate >/dev/null; then
    echo "install-deps.sh: installing kubernetes-validate for $(command -v python3) from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate
    command -v pyenv >/dev/null && pyenv rehash
fi
command -v kubernetes-validate >/dev/null || { echo "install-deps.sh: kubernetes-validate missing after install" >&2; exit 1; }
# compliance-trestle validates `--format oscal` output (scripts/validate-oscal.py): its models
# are generated from NIST's OSCAL JSON schema and enforce it offline. Pinned to 3.12.4, the
# last release for OSCAL 1.1.3 (the version cloister writes; trestle 4 and later read 1.2 only).
# NIST's own schema file is on PyPI only inside packages that need Python 3.12 (Debian 12 has 3.11).
if ! python3 -c 'import trestle.oscal, sys; sys.exit(trestle.oscal.OSCAL_VERSION != "1.1.3")' 2>/dev/null; then
    echo "install-deps.sh: installing compliance-trestle 3.12.4 for $(command -v python3) from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check "compliance-trestle==3.12.4"
fi
python3 -c 'import trestle.oscal.assessment_results' || { echo "install-deps.sh: python3 cannot import trestle (compliance-trestle)" >&2; exit 1; }
python3 -c 'import jsonschema' || { echo "install-deps.sh: python3 cannot import jsonschema" >&2; exit 1; }
python3 -c 'import jsonpatch' || { echo "install-deps.sh: python3 cannot import jsonpatch" >&2; exit 1; }
echo "install-deps.sh: done"

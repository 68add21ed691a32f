#!/usr/bin/env bash
# Builds the virtnet test control plane (docs/envtest.md): kube-apiserver and etcd from
# the Go modules pinned in hack/envtest/{apiserver,etcd}/go.mod, and the CRD sets pinned
# in hack/envtest/versions.env, into a cache directory outside the repository:
#
#   ${VIRTNET_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtnet-envtest}/<key>/
#       bin/kube-apiserver  bin/etcd  crds/<set>/*.yaml  VERSIONS
#
# <key> is a hash of every pin and of this script, so a clean clone reuses an earlier
# build and a changed pin rebuilds. Idempotent: a complete <key> directory is reused.
# The last line printed on stdout is the <key> directory; progress goes to stderr.
#
# Usage: hack/envtest/build.sh [--dir] [--force]
#   --dir    print the <key> directory and exit (no build)
#   --force  rebuild even if the <key> directory is complete
# Environment:
#   VIRTNET_ENVTEST_CACHE          cache root (default above)
#   VIRTNET_ENVTEST_CRD_FALLBACK   directory of verbatim upstream chart CRD files (<project>/<version>/)
#                                  for releases the Go module proxy does not serve (SpiderPool v0.8.13);
#                                  default: ../shared/reference/crds next to the repository. Every file
#                                  pinned in crd-fallback.sha256 must be there with that SHA-256, or the
#                                  build stops with one sentence saying which.
set -euo pipefail

# Everything runs inside main, which bash reads whole before running it: editing or
# checking out this file while a build runs cannot change the running build.
# check_fallback DIR: every file pinned in crd-fallback.sha256 exists under DIR with its SHA-256.
check_fallback() {
  local dir=$1 sum file got
  while read -r sum file; do
    [[ -z $sum || $sum == \#* ]] && continue
    if [[ ! -f $dir/$file ]]; then
      echo "envtest: the pinned SpiderPool CRD file $file is missing from $dir (set VIRTNET_ENVTEST_CRD_FALLBACK to a directory holding spiderpool/v0.8.13/ from the upstream tag; see docs/envtest.md)" >&2
      exit 4
    fi
    got=$(sha256sum "$dir/$file" | cut -d' ' -f1)
    if [[ $got != "$sum" ]]; then
      echo "envtest: $dir/$file differs from the upstream file pinned in hack/envtest/crd-fallback.sha256 (sha256 $got, pinned $sum): restore the verbatim upstream file" >&2
      exit 4
    fi
  done < "$here/crd-fallback.sha256"
}

main() {
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  repo=$(cd "$here/../.." && pwd)

  print_dir=0
  force=0
  for arg in "$@"; do
    case "$arg" in
      --dir) print_dir=1 ;;
      --force) force=1 ;;
      -h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) echo "envtest: unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
  done

  # shellcheck source=versions.env
  source "$here/versions.env"

  # SpiderPool v0.8.13 (the release line the guide targets) is not served by the Go module proxy: its chart
  # CRDs are a pinned input, checked here against crd-fallback.sha256 before anything is built.
  fallback=${VIRTNET_ENVTEST_CRD_FALLBACK:-$repo/../shared/reference/crds}

  # Everything that decides what gets built goes into the key.
  key_inputs=(
    build.sh versions.env crd-fallback.sha256
    apiserver/go.mod apiserver/go.sum
    etcd/go.mod etcd/go.sum etcd/main.go
    crds/go.mod crds/main.go
  )
  key=$(
    cd "$here"
    {
      sha256sum "${key_inputs[@]}"
      uname -sm
      echo "fallback:yes"
    } | sha256sum | cut -c1-16
  )
  cache_root=${VIRTNET_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtnet-envtest}
  dir=$cache_root/$key

  if [[ $print_dir == 1 ]]; then
    echo "$dir"
    exit 0
  fi
  if [[ $force == 0 && -f $dir/.complete ]]; then
    echo "$dir"
    exit 0
  fi

  # k8s.io/kubernetes v1.35 needs Go 1.25. A go command from 1.21 on fetches the toolchain a
  # go.mod asks for by itself (GOTOOLCHAIN=auto, from the Go module proxy); older ones cannot.
  go_found=$(go env GOVERSION 2> /dev/null || true)
  go_minor=${go_found#go1.}
  go_minor=${go_minor%%[!0-9]*}
  if [[ -z $go_found || -z $go_minor || $go_minor -lt 21 ]]; then
    echo "envtest: Go >= 1.25 is required to build the test control plane (found: ${go_found:-no go command}): install it (Debian 13: apt-get install golang-go, whose Go 1.24 fetches Go 1.25 by itself; elsewhere https://go.dev/dl) and re-run \`make envtest\`" >&2
    exit 3
  fi

  mkdir -p "$cache_root"
  # One build per key at a time (parallel pytest sessions, two shells).
  if command -v flock > /dev/null 2>&1; then
    exec 9> "$cache_root/$key.lock"
    flock 9
    if [[ $force == 0 && -f $dir/.complete ]]; then
      echo "$dir"
      exit 0
    fi
  fi

  # The modules here are built exactly as pinned: no workspace, no vendor directory, and
  # go.mod/go.sum are never rewritten (command-line -mod wins over a GOFLAGS setting).
  export GOWORK=off
  pinned() { # pinned MODULE_DIR MODULE: the version that MODULE_DIR/go.mod selects
    (cd "$here/$1" && go list -mod=readonly -m -f '{{.Version}}' "$2")
  }
  if ! k8s_version=$(pinned apiserver k8s.io/kubernetes) || ! etcd_version=$(pinned etcd go.etcd.io/etcd/server/v3); then
    echo "envtest: cannot read the k8s.io/kubernetes and etcd pins of hack/envtest/{apiserver,etcd}/go.mod (see the go command's output)" >&2
    exit 1
  fi
  k8s_minor=${k8s_version#v1.}
  k8s_minor=${k8s_minor%%.*}

  tmp=$dir.partial.$$
  trap 'rm -rf "$tmp"' EXIT
  rm -rf "$tmp"
  mkdir -p "$tmp/bin" "$tmp/crds"

  log() { echo "envtest: $*" >&2; }
  step() { # step NAME CMD... : run, time, and name the failing step in one line
    local name=$1 start end
    shift
    start=$(date +%s)
    log "$name ..."
    if ! "$@"; then
      log "building the test control plane failed at step \"$name\" (see the go command's output): fix that and re-run \`make envtest\`"
      exit 1
    fi
    end=$(date +%s)
    log "$name: $((end - start))s"
    echo "$name: $((end - start))s" >> "$tmp/BUILD_TIMES"
  }

  build_apiserver() {
    cd "$here/apiserver"
    go build -mod=readonly -trimpath \
      -ldflags "-s -w \
        -X k8s.io/component-base/version.gitVersion=$k8s_version \
        -X k8s.io/component-base/version.gitMajor=1 \
        -X k8s.io/component-base/version.gitMinor=$k8s_minor \
        -X k8s.io/component-base/version.gitTreeState=clean" \
      -o "$tmp/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  }

  build_etcd() {
    cd "$here/etcd"
    go build -mod=readonly -trimpath -ldflags '-s -w' -o "$tmp/bin/etcd" .
  }

  write_crds() {
    cd "$here/crds"
    go run -mod=readonly . -out "$tmp/crds" \
      -kubevirt "$KUBEVIRT_VERSIONS" -spiderpool "$SPIDERPOOL_VERSIONS" -nad "$NAD_VERSIONS" \
      -fallback "$fallback" \
      -fallback-sums "$here/crd-fallback.sha256"
  }

  check_fallback "$fallback"
  fallback=$(cd "$fallback" && pwd)
  log "building into $dir ($(go version))"
  step "kube-apiserver $k8s_version" build_apiserver
  step "etcd $etcd_version" build_etcd
  step "CRD sets" write_crds

  {
    echo "kube-apiserver: k8s.io/kubernetes $k8s_version"
    echo "etcd: go.etcd.io/etcd/server/v3 $etcd_version"
    echo "crd sets: $(cd "$tmp/crds" && ls -d -- */ | tr -d / | tr '\n' ' ')"
    [[ -f $tmp/crds/SKIPPED ]] && echo "crd sets skipped (not obtainable): $(tr '\n' ' ' < "$tmp/crds/SKIPPED")"
    echo "built with: $(go version)"
    echo "built at: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } > "$tmp/VERSIONS"
  touch "$tmp/.complete"

  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  log "done: $(tr '\n' ';' < "$dir/BUILD_TIMES")"
  echo "$dir"
}

main "$@"

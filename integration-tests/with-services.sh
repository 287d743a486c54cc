#!/usr/bin/env bash
# Start the real services the tests use (on loopback), run the given command, stop what was
# started, and exit with the command's status:
#   integration-tests/with-services.sh tox run-parallel --parallel-live
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

stop() { "$here/docker-down.sh" || echo "with-services: stopping Docker failed" >&2; }
trap stop EXIT

if ! "$here/docker-up.sh"; then
  echo "with-services: Docker could not start; its tests will be skipped with the reason" >&2
fi
"$@"
